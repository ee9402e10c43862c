import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Knex } from 'knex';
import type { Test } from 'tap';
import { createDb } from '../../services/shared/database.ts';
import { createTestDatabase, mysqlSkipReason } from './mysql.ts';

/**
 * A Timing database as legacy leaves it: legacy/schema/<kind>.sql executed as-is, plus a small
 * deterministic fixture whose expected API output the tests spell out literally.
 */
export type DatabaseKind = 'sqlite' | 'mysql';

/** Run a data test once per engine: `for (const { kind, skip } of DATABASE_KINDS) t.test(kind, { skip }, …)`. */
export const DATABASE_KINDS: ReadonlyArray<{ kind: DatabaseKind; skip: string | false }> = [
  { kind: 'sqlite', skip: false },
  { kind: 'mysql', skip: mysqlSkipReason },
];

const SCHEMA_DIR = fileURLToPath(new URL('../../legacy/schema/', import.meta.url));

/** The statements of legacy/schema/<kind>.sql, comments dropped, split on ';'. */
export function readLegacySchema(kind: DatabaseKind): string[] {
  const sql = readFileSync(path.join(SCHEMA_DIR, `${kind}.sql`), 'utf8');
  return sql
    .split('\n')
    .filter((line) => !line.trim().startsWith('--'))
    .join('\n')
    .split(';')
    .map((statement) => statement.trim())
    .filter((statement) => statement !== '');
}

export async function applyLegacySchema(db: Knex, kind: DatabaseKind): Promise<void> {
  for (const statement of readLegacySchema(kind)) await db.raw(statement);
}

const USER_NAMES = [
  'Ada Lovelace',
  'Alan Turing',
  'Grace Hopper',
  'Edsger Dijkstra',
  'Barbara Liskov',
  'Donald Knuth',
  'Margaret Hamilton',
  'Ken Thompson',
  'Frances Allen',
  'John McCarthy',
  'Radia Perlman',
  'Tony Hoare',
  'Katherine Johnson',
];

export const FIXTURE = {
  users: USER_NAMES.map((name, i) => ({
    id: i + 1,
    name,
    email: `user${i + 1}@timing.test`,
    password_hash: '$2y$10$fixture',
    created_at: '2026-01-01 00:00:00',
  })),
  rooms: [
    { id: 1, name: 'Quiet Math Room', topic: 'math', description: 'Silent problem solving.', capacity: 20, owner_id: 3, is_public: 1, created_at: '2026-01-02 03:04:05' },
    { id: 2, name: 'Late Night Physics', topic: 'physics', description: 'Quantum at 2am.', capacity: 8, owner_id: 2, is_public: 0, created_at: '2026-01-05 22:30:00' },
    { id: 3, name: 'Math Olympiad Prep', topic: 'math', description: 'Competition problems, weekly.', capacity: 30, owner_id: 1, is_public: 1, created_at: '2026-01-10 14:00:00' },
    { id: 4, name: 'Échange de langues ☕', topic: 'languages', description: 'Parlez, écoutez — "quotes" & <tags>.', capacity: 12, owner_id: 13, is_public: 1, created_at: '2026-02-14 08:15:30' },
    { id: 5, name: 'Deep Work', topic: 'focus', description: '', capacity: 50, owner_id: 1, is_public: 0, created_at: '2026-03-03 03:03:03' },
  ],
  room_tags: [
    { room_id: 1, tag: 'quiet' },
    { room_id: 1, tag: 'focus' },
    { room_id: 3, tag: 'competition' },
    { room_id: 4, tag: 'speaking' },
    { room_id: 4, tag: 'beginner' },
    { room_id: 4, tag: 'evening' },
  ],
  // Inserted out of order on purpose, with ties on joined_at (5/6, 8/9, 2/13) that only the
  // user id breaks, and user 4 joining first although its id is in the middle.
  room_members: [
    { room_id: 1, user_id: 9, joined_at: '2026-02-05 18:45:00' },
    { room_id: 1, user_id: 1, joined_at: '2026-02-01 09:00:00' },
    { room_id: 1, user_id: 12, joined_at: '2026-02-08 23:59:59' },
    { room_id: 1, user_id: 6, joined_at: '2026-02-03 12:00:00' },
    { room_id: 1, user_id: 3, joined_at: '2026-02-01 09:10:00' },
    { room_id: 1, user_id: 4, joined_at: '2026-01-31 23:00:00' },
    { room_id: 1, user_id: 11, joined_at: '2026-02-07 21:15:00' },
    { room_id: 1, user_id: 5, joined_at: '2026-02-03 12:00:00' },
    { room_id: 1, user_id: 2, joined_at: '2026-02-01 09:05:00' },
    { room_id: 1, user_id: 8, joined_at: '2026-02-05 18:45:00' },
    { room_id: 1, user_id: 10, joined_at: '2026-02-06 06:00:00' },
    { room_id: 1, user_id: 7, joined_at: '2026-02-04 07:30:00' },
    { room_id: 3, user_id: 13, joined_at: '2026-03-01 10:00:00' },
    { room_id: 3, user_id: 2, joined_at: '2026-03-01 10:00:00' },
    { room_id: 4, user_id: 7, joined_at: '2026-02-15 19:00:00' },
    { room_id: 5, user_id: 5, joined_at: '2026-03-04 08:00:00' },
    { room_id: 5, user_id: 1, joined_at: '2026-03-03 03:03:03' },
    { room_id: 5, user_id: 3, joined_at: '2026-03-05 12:30:00' },
  ],
} as const;

export async function insertTimingFixture(db: Knex): Promise<void> {
  await db('users').insert(FIXTURE.users);
  await db('rooms').insert(FIXTURE.rooms);
  await db('room_tags').insert(FIXTURE.room_tags);
  for (const member of FIXTURE.room_members) await db('room_members').insert(member);
}

export interface TimingDb {
  kind: DatabaseKind;
  /** DATABASE_URL of the new database. */
  url: string;
  /** A connection for the test's own setup and checks; destroyed at teardown. */
  db: Knex;
}

/**
 * A fresh database (SQLite file under t.testdir(), or a throw-away MySQL database) with the
 * legacy schema and, unless `fixture: false`, the fixture. Cleaned up at the test's teardown.
 */
export async function createTimingDb(
  t: Test,
  kind: DatabaseKind,
  { schema = true, fixture = true }: { schema?: boolean; fixture?: boolean } = {},
): Promise<TimingDb> {
  let url: string;
  let drop = async () => {};
  if (kind === 'sqlite') {
    url = `sqlite:${path.join(t.testdir(), 'timing.sqlite')}`;
  } else {
    const database = await createTestDatabase('rooms');
    url = database.url;
    drop = database.drop;
  }
  const db = createDb(url);
  t.teardown(async () => {
    await db.destroy();
    await drop();
  });
  if (schema) await applyLegacySchema(db, kind);
  if (schema && fixture) await insertTimingFixture(db);
  return { kind, url, db };
}
