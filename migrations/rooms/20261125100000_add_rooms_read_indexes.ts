import type { Knex } from 'knex';
import { createLegacySchemaMissingError } from '../../services/rooms/errors.ts';

// The legacy schema owns these tables; the rooms service only adds what its reads need:
// GET /api/rooms?topic= filters by topic and pages by id, GET /api/rooms/:id lists the most
// recent members of one room.
const INDEXES = [
  { table: 'rooms', columns: ['topic', 'id'], name: 'rooms_topic_id_index' },
  {
    table: 'room_members',
    columns: ['room_id', 'joined_at'],
    name: 'room_members_room_id_joined_at_index',
  },
] as const;

export async function up(knex: Knex): Promise<void> {
  const missing: string[] = [];
  for (const table of new Set(INDEXES.map((index) => index.table))) {
    if (!(await knex.schema.hasTable(table))) missing.push(table);
  }
  if (missing.length > 0) throw createLegacySchemaMissingError(missing);
  for (const { table, columns, name } of INDEXES) {
    await knex.schema.alterTable(table, (t) => {
      t.index([...columns], name);
    });
  }
}

export async function down(knex: Knex): Promise<void> {
  for (const { table, columns, name } of [...INDEXES].reverse()) {
    await knex.schema.alterTable(table, (t) => {
      t.dropIndex([...columns], name);
    });
  }
}
