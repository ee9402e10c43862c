import path from 'node:path';
import knex from 'knex';
import t from 'tap';
import { migrationSource } from '../../migrations/migrate.ts';

const MIGRATION = `export async function up(db) { await db.schema.createTable('notes', (t) => t.increments('id')); }
export async function down(db) { await db.schema.dropTable('notes'); }
`;
const TABLE = 'test_migrations';

t.test('a database migrated from the compiled copy is current for the sources, and back', async (t) => {
  const dir = t.testdir({
    compiled: { '20260101000000_create_notes.js': MIGRATION },
    sources: { '20260101000000_create_notes.ts': MIGRATION.replace(/\(db\)/g, '(db: any)').replace('(t) =>', '(t: any) =>') },
  });
  const db = knex({ client: 'better-sqlite3', connection: { filename: path.join(dir, 'db.sqlite') }, useNullAsDefault: true });
  t.teardown(() => db.destroy());
  const compiled = { migrationSource: migrationSource(path.join(dir, 'compiled')), tableName: TABLE };
  const sources = { migrationSource: migrationSource(path.join(dir, 'sources')), tableName: TABLE };

  const [, applied] = await db.migrate.latest(compiled);
  t.strictSame(applied, ['20260101000000_create_notes.ts'], 'recorded by its source name');
  t.ok(await db.schema.hasTable('notes'));
  // knex stops with "the migration directory is corrupt" when a recorded name is not listed
  const [, again] = await db.migrate.latest(sources);
  t.strictSame(again, [], 'nothing to apply from the sources');
  const [, rolledBack] = await db.migrate.rollback(sources);
  t.strictSame(rolledBack, ['20260101000000_create_notes.ts'], 'the sources roll back what the compiled copy applied');
  t.notOk(await db.schema.hasTable('notes'));
  t.strictSame((await db.migrate.latest(compiled))[1], ['20260101000000_create_notes.ts'], 'and the compiled copy applies it again');
});
