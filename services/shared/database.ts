/**
 * The database every service (and the proxy's store) opens: knex over SQLite (embedded default)
 * or MySQL/MariaDB, from a DATABASE_URL read the way legacy reads it. Shared by the services so
 * a new one (strangler extract) gets the same behaviour.
 */
import path from 'node:path';
import knex, { type Knex } from 'knex';
import { REPO_ROOT } from './repo-root.ts';


/** The DATABASE_URL both legacy and the services fall back to (contract: "Database"). */
export const DEFAULT_DATABASE_URL = 'sqlite:var/timing.sqlite';


/** A DATABASE_URL no service can use. */
export class DatabaseUrlError extends Error {
  readonly code = 'STRANGLER_ERR_DATABASE_URL';

  constructor(url: string | undefined, options?: { cause?: unknown }) {
    super(
      url === undefined
        ? 'DATABASE_URL is not set: point it at the database legacy reads, e.g. ' +
            'mysql://user:password@127.0.0.1:3306/dbname or sqlite:<path>'
        : `DATABASE_URL ${JSON.stringify(url)} is not understood: use sqlite:<path> (absolute, or ` +
            'relative to the repository root, e.g. sqlite:var/timing.sqlite) or ' +
            'mysql://user:password@host:port/dbname',
      options,
    );
    this.name = 'DatabaseUrlError';
  }
}

function createDatabaseUrlError(url: string, cause?: unknown): DatabaseUrlError {
  return new DatabaseUrlError(url, { cause });
}

// PHP writes the same SQLite file; wait for its lock instead of failing with SQLITE_BUSY.
const SQLITE_BUSY_TIMEOUT_MS = 5000;
const MYSQL_POOL = { min: 0, max: 5 };
const MYSQL_CONNECT_TIMEOUT_MS = 3000;
// Without this a dead database holds requests (and /healthz) for knex's 60 s default.
const ACQUIRE_CONNECTION_TIMEOUT_MS = 5000;

export type DatabaseTarget =
  | { kind: 'sqlite'; filename: string }
  | {
      kind: 'mysql';
      host: string;
      port: number;
      user: string;
      password: string;
      database: string;
    };

/**
 * `sqlite:<path>` (absolute, or relative to the repository root) or
 * `mysql://user:pass@host:port/dbname` (user root and port 3306 when left out), read as legacy
 * reads it. Anything else throws STRANGLER_ERR_DATABASE_URL.
 */
export function parseDatabaseUrl(url: string): DatabaseTarget {
  if (url.startsWith('sqlite:')) {
    // As legacy's Database::fromUrl: sqlite://x is sqlite:x, so sqlite:///abs is absolute.
    const file = url.slice('sqlite:'.length).replace(/^\/\//, '');
    if (file === '') throw createDatabaseUrlError(url);
    return { kind: 'sqlite', filename: path.resolve(REPO_ROOT, file) };
  }
  if (url.startsWith('mysql://')) {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch (err) {
      throw createDatabaseUrlError(url, err);
    }
    const database = decodeURIComponent(parsed.pathname.replace(/^\//, ''));
    if (parsed.hostname === '' || database === '' || database.includes('/')) {
      throw createDatabaseUrlError(url);
    }
    return {
      kind: 'mysql',
      host: parsed.hostname.replace(/^\[(.*)\]$/, '$1'),
      port: parsed.port === '' ? 3306 : Number(parsed.port),
      user: parsed.username === '' ? 'root' : decodeURIComponent(parsed.username),
      password: decodeURIComponent(parsed.password),
      database,
    };
  }
  throw createDatabaseUrlError(url);
}

/** The database as it may appear in logs: never the password. */
export function describeDatabase(url: string): string {
  const target = parseDatabaseUrl(url);
  if (target.kind === 'sqlite') return `sqlite:${target.filename}`;
  return `mysql://${encodeURIComponent(target.user)}@${target.host}:${target.port}/${target.database}`;
}

/** The DATABASE_URL in effect: the argument, else the environment, else the default. */
export function resolveDatabaseUrl(databaseUrl?: string): string {
  // Empty counts as unset, as in legacy (an exported but empty variable is a common slip).
  return databaseUrl || process.env.DATABASE_URL || DEFAULT_DATABASE_URL;
}

/**
 * The DATABASE_URL of a service made for another application (strangler extract): the
 * argument, else the environment, and no default (the demo's database is no one else's).
 */
export function requireDatabaseUrl(databaseUrl?: string): string {
  const url = databaseUrl || process.env.DATABASE_URL;
  if (!url) throw new DatabaseUrlError(undefined);
  return url;
}

export function createDb(databaseUrl?: string): Knex {
  const target = parseDatabaseUrl(resolveDatabaseUrl(databaseUrl));
  if (target.kind === 'sqlite') {
    return knex({
      client: 'better-sqlite3',
      connection: { filename: target.filename },
      useNullAsDefault: true,
      acquireConnectionTimeout: ACQUIRE_CONNECTION_TIMEOUT_MS,
      pool: {
        afterCreate(conn: { pragma(source: string): unknown }, done: (err: Error | null, conn: unknown) => void) {
          try {
            conn.pragma(`busy_timeout = ${SQLITE_BUSY_TIMEOUT_MS}`);
            conn.pragma('journal_mode = WAL');
            done(null, conn);
          } catch (err) {
            done(err as Error, conn);
          }
        },
      },
    });
  }
  return knex({
    client: 'mysql2',
    connection: {
      host: target.host,
      port: target.port,
      user: target.user,
      password: target.password,
      database: target.database,
      charset: 'utf8mb4',
      // Stored datetimes are UTC text by contract: keep them as strings, never as local Dates.
      dateStrings: true,
      timezone: 'Z',
      supportBigNumbers: true,
      connectTimeout: MYSQL_CONNECT_TIMEOUT_MS,
    },
    acquireConnectionTimeout: ACQUIRE_CONNECTION_TIMEOUT_MS,
    pool: MYSQL_POOL,
  });
}
