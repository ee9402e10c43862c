import { randomBytes } from 'node:crypto';
import knex from 'knex';

/**
 * MySQL/MariaDB for tests. `MYSQL_URL` (e.g. mysql://root@127.0.0.1:3306/test) points at a
 * server; each test file gets its own throw-away database so files can run in parallel.
 * Without MYSQL_URL the caller skips, loudly, with `mysqlSkipReason`.
 */
export const mysqlSkipReason = process.env.MYSQL_URL
  ? false
  : 'MYSQL_URL is not set: MySQL/MariaDB variant skipped (set MYSQL_URL=mysql://root@127.0.0.1:3306/test to run it; .ci/run does)';

export interface TestDatabase {
  /** mysql://… URL of the fresh database */
  url: string;
  drop(): Promise<void>;
}

export async function createTestDatabase(prefix: string): Promise<TestDatabase> {
  const base = process.env.MYSQL_URL;
  if (!base) throw new Error(String(mysqlSkipReason));
  const name = `strangler_${prefix.replace(/[^a-z0-9_]/gi, '_')}_${randomBytes(4).toString('hex')}`;
  const admin = knex({ client: 'mysql2', connection: base });
  try {
    await admin.raw(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4`);
  } finally {
    await admin.destroy();
  }
  const url = new URL(base);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const a = knex({ client: 'mysql2', connection: base });
      try {
        await a.raw(`DROP DATABASE IF EXISTS \`${name}\``);
      } finally {
        await a.destroy();
      }
    },
  };
}
