import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { createDb, describeDatabase, parseDatabaseUrl, resolveDatabaseUrl } from '../../../services/rooms/db.ts';
import { createTimingDb, DATABASE_KINDS } from '../../helpers/timing-db.ts';

const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

t.test('sqlite:<path> is absolute or relative to the repository root, not the cwd', async (t) => {
  t.strictSame(parseDatabaseUrl('sqlite:var/timing.sqlite'), {
    kind: 'sqlite',
    filename: path.join(REPO_ROOT, 'var/timing.sqlite'),
  });
  t.strictSame(parseDatabaseUrl('sqlite:/tmp/t.sqlite'), { kind: 'sqlite', filename: '/tmp/t.sqlite' });
  t.strictSame(parseDatabaseUrl('sqlite:///tmp/t.sqlite'), { kind: 'sqlite', filename: '/tmp/t.sqlite' });
  t.strictSame(parseDatabaseUrl('sqlite://var/t.sqlite'), {
    kind: 'sqlite',
    filename: path.join(REPO_ROOT, 'var/t.sqlite'),
  });
});

t.test('unset or empty: DATABASE_URL, then sqlite:var/timing.sqlite', async (t) => {
  const saved = process.env.DATABASE_URL;
  t.teardown(() => {
    if (saved === undefined) delete process.env.DATABASE_URL;
    else process.env.DATABASE_URL = saved;
  });
  delete process.env.DATABASE_URL;
  t.equal(resolveDatabaseUrl(), 'sqlite:var/timing.sqlite');
  process.env.DATABASE_URL = '';
  t.equal(resolveDatabaseUrl(''), 'sqlite:var/timing.sqlite');
  process.env.DATABASE_URL = 'sqlite:/tmp/env.sqlite';
  t.equal(resolveDatabaseUrl(), 'sqlite:/tmp/env.sqlite');
  t.equal(resolveDatabaseUrl('sqlite:/tmp/arg.sqlite'), 'sqlite:/tmp/arg.sqlite');
});

t.test('mysql://user:pass@host:port/dbname, percent-decoded, port 3306 by default', async (t) => {
  t.strictSame(parseDatabaseUrl('mysql://app:p%40ss@db.local:3307/timing'), {
    kind: 'mysql',
    host: 'db.local',
    port: 3307,
    user: 'app',
    password: 'p@ss',
    database: 'timing',
  });
  t.match(parseDatabaseUrl('mysql://127.0.0.1/test'), { user: 'root', password: '', port: 3306 });
});

t.test('describeDatabase never shows the password', async (t) => {
  const described = describeDatabase('mysql://app:s3cret@db.local:3306/timing');
  t.equal(described, 'mysql://app@db.local:3306/timing');
  t.notMatch(described, /s3cret/);
  t.equal(describeDatabase('sqlite:/tmp/t.sqlite'), 'sqlite:/tmp/t.sqlite');
});

t.test('anything else throws STRANGLER_ERR_DATABASE_URL naming the accepted forms', async (t) => {
  for (const url of ['postgres://u@h/db', 'sqlite:', 'sqlite://', 'mysql://host-only', 'var/timing.sqlite']) {
    t.throws(
      () => createDb(url),
      { code: 'STRANGLER_ERR_DATABASE_URL', message: /sqlite:<path>.*mysql:\/\/user:password@host:port\/dbname/ },
      JSON.stringify(url),
    );
  }
});

for (const { kind, skip } of DATABASE_KINDS) {
  t.test(`stored datetimes come back as the stored UTC text on ${kind}`, { skip }, async (t) => {
    const { db } = await createTimingDb(t, kind);
    const row = await db('rooms').select('created_at').where('id', 1).first();
    t.equal(row.created_at, '2026-01-02 03:04:05');
    if (kind === 'sqlite') {
      const [mode] = await db.raw('pragma journal_mode');
      t.equal(mode.journal_mode, 'wal', 'SQLite shared with PHP runs in WAL mode');
    }
  });
}
