import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import type { Knex } from 'knex';
import { migrateLatest, migrateRollback, MIGRATIONS_TABLE } from '../../migrations/migrate.ts';
import { createTimingDb, DATABASE_KINDS, type DatabaseKind } from '../helpers/timing-db.ts';

const MIGRATION = '20261125100000_add_rooms_read_indexes.ts';
const READ_INDEXES = ['room_members_room_id_joined_at_index', 'rooms_topic_id_index'];

async function listReadIndexes(db: Knex, kind: DatabaseKind): Promise<string[]> {
  const rows: Array<{ name: string }> =
    kind === 'sqlite'
      ? await db('sqlite_master').select('name').where('type', 'index')
      : await db('information_schema.statistics')
          .distinct('index_name as name')
          .whereRaw('table_schema = database()');
  return rows.map((row) => row.name).filter((name) => READ_INDEXES.includes(name)).sort();
}

for (const { kind, skip } of DATABASE_KINDS) {
  t.test(`rooms migrations on ${kind}`, { skip }, async (t) => {
    t.test('apply once, then nothing to apply; rollback removes the indexes', async (t) => {
      const { url, db } = await createTimingDb(t, kind);
      const lines: Array<{ obj: object; msg: string }> = [];
      const log = { info: (obj: object, msg: string) => lines.push({ obj, msg }) };

      t.strictSame(await migrateLatest({ databaseUrl: url, log }), { applied: [MIGRATION] });
      t.strictSame(await listReadIndexes(db, kind), READ_INDEXES);
      t.ok(await db.schema.hasTable(MIGRATIONS_TABLE), `${MIGRATIONS_TABLE} records the run`);
      t.match(lines, [{ msg: 'migrations applied', obj: { applied: [MIGRATION] } }]);

      t.strictSame(await migrateLatest({ databaseUrl: url }), { applied: [] }, 'idempotent');
      t.strictSame(await listReadIndexes(db, kind), READ_INDEXES);

      t.strictSame(await migrateRollback({ databaseUrl: url }), { rolledBack: [MIGRATION] });
      t.strictSame(await listReadIndexes(db, kind), []);
      t.strictSame(await migrateRollback({ databaseUrl: url }), { rolledBack: [] });

      t.strictSame(await migrateLatest({ databaseUrl: url }), { applied: [MIGRATION] }, 'reapplies');
      const counted = await db('rooms').count({ n: '*' }).first();
      t.equal(Number(counted?.n), 5, 'legacy data untouched');
    });

    t.test('before legacy created its tables: fails and says to start legacy first', async (t) => {
      const { url, db } = await createTimingDb(t, kind, { schema: false });
      await t.rejects(migrateLatest({ databaseUrl: url }), {
        code: 'STRANGLER_ERR_LEGACY_SCHEMA_MISSING',
        message: /rooms, room_members.*start the legacy app/,
      });
      t.notOk(await db.schema.hasTable('rooms'), 'created nothing in legacy’s place');
    });
  });
}

t.test('the .ts migrations also load under tsx, the loader the strangler CLI runs with', async (t) => {
  const { url } = await createTimingDb(t, 'sqlite');
  const script =
    "const { migrateLatest } = await import('./migrations/migrate.ts');" +
    'console.log(JSON.stringify(await migrateLatest({ databaseUrl: process.env.DATABASE_URL })));';
  // tap's own loader stays out of the child: NODE_OPTIONS is dropped.
  const { NODE_OPTIONS, ...env } = process.env;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: fileURLToPath(new URL('../../', import.meta.url)),
    env: { ...env, DATABASE_URL: url },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let stdout = '';
  child.stdout.on('data', (chunk) => (stdout += chunk));
  const [code] = await once(child, 'exit');
  t.equal(code, 0);
  t.strictSame(JSON.parse(stdout), { applied: [MIGRATION] });
});
