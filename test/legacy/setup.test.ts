import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import t from 'tap';
import { phpSkipReason } from '../helpers/legacy.ts';

const SETUP = fileURLToPath(new URL('../../legacy/bin/setup.php', import.meta.url));
const run = promisify(execFile);

t.test('legacy setup.php', { skip: phpSkipReason }, async (t) => {
  const dir = t.testdir();
  const env = { ...process.env, DATABASE_URL: `sqlite:${join(dir, 'nested', 'timing.sqlite')}` };

  t.test('creates the database directory, tables and seed on first run', async (t) => {
    const started = Date.now();
    const { stdout } = await run('php', [SETUP], { env });
    t.match(stdout, /schema: created users, rooms, room_tags, room_members, checkins, diaries/);
    t.match(stdout, /seed: inserted 500 users, 300 rooms, \d+ room_tags, \d+ room_members, 5000 checkins, 1000 diaries/);
    t.ok(Date.now() - started < 5000, 'seeding takes seconds at most');
  });

  t.test('a second run creates and seeds nothing', async (t) => {
    const { stdout } = await run('php', [SETUP], { env });
    t.match(stdout, /schema: all 6 tables already present/);
    t.match(stdout, /seed: skipped, users table already has 500 rows/);
  });

  t.test('a bad DATABASE_URL fails with a message, not a stack trace', async (t) => {
    const err = await run('php', [SETUP], { env: { ...env, DATABASE_URL: 'postgres://x/y' } }).catch((e) => e);
    t.equal(err.code, 1);
    t.match(err.stderr, /setup failed: DATABASE_URL must start with sqlite: or mysql:\/\//);
  });
});
