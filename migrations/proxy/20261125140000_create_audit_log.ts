import type { Knex } from 'knex';

/**
 * The admin API's audit log: every change to a route's share, who made it, from what to what
 * and why. Rows are only ever inserted; nothing prunes them.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('strangler_audit', (t) => {
    t.bigIncrements('id');
    // epoch milliseconds: compared as numbers the same way in SQLite and MySQL
    t.bigInteger('at').notNullable();
    t.string('route', 100).notNullable();
    t.string('action', 20).notNullable();
    t.string('actor_token', 20).notNullable();
    t.string('actor_address', 64).nullable();
    t.text('from_json').notNullable();
    t.text('to_json').notNullable();
    t.text('reason').notNullable();
    t.index(['at'], 'strangler_audit_at');
    t.index(['route', 'at'], 'strangler_audit_route_at');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('strangler_audit');
}
