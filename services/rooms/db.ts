// The rooms service opens its database like every service does.
export * from '../shared/database.ts';
