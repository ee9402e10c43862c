import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Knex } from 'knex';
import { createDb, describeDatabase, resolveDatabaseUrl } from '../services/shared/database.ts';

/** Knex's bookkeeping table; the name keeps it apart from anything legacy creates. */
export const MIGRATIONS_TABLE = 'strangler_migrations';
export const ROOMS_MIGRATIONS_DIRECTORY = fileURLToPath(new URL('./rooms/', import.meta.url));

/** Anything with pino's `info(obj, msg)`, such as a pino logger. */
export interface MigrationLog {
  info(obj: object, msg: string): void;
}

export interface MigrateOptions {
  /** Defaults to DATABASE_URL, then sqlite:var/timing.sqlite. */
  databaseUrl?: string;
  log?: MigrationLog;
}

/**
 * The migrations of a folder, named by their TypeScript source (<name>.ts) whether this runs from
 * the sources (through tsx or tap's loader) or from their compiled copy under dist/ (<name>.js):
 * knex records each applied migration by name and stops on one it cannot find, so a database
 * migrated by either must be current for both.
 */
export function migrationSource(directory: string): Knex.MigrationSource<string> {
  return {
    async getMigrations() {
      const files = await readdir(directory);
      return files.filter((f) => (f.endsWith('.ts') && !f.endsWith('.d.ts')) || f.endsWith('.js')).sort();
    },
    getMigrationName: (file) => file.replace(/\.js$/, '.ts'),
    getMigration: (file) => import(pathToFileURL(path.join(directory, file)).href) as Promise<Knex.Migration>,
  };
}

function migratorConfig(): Knex.MigratorConfig {
  return { migrationSource: migrationSource(ROOMS_MIGRATIONS_DIRECTORY), tableName: MIGRATIONS_TABLE };
}

async function withDb<T>(databaseUrl: string | undefined, run: (db: Knex) => Promise<T>): Promise<T> {
  const db = createDb(databaseUrl);
  try {
    return await run(db);
  } finally {
    await db.destroy();
  }
}

/** Applies every pending migration; `applied` is empty when the schema is already current. */
export async function migrateLatest({ databaseUrl, log }: MigrateOptions = {}): Promise<{ applied: string[] }> {
  const url = resolveDatabaseUrl(databaseUrl);
  return withDb(url, async (db) => {
    const [batch, applied]: [number, string[]] = await db.migrate.latest(migratorConfig());
    log?.info({ database: describeDatabase(url), batch, applied }, 'migrations applied');
    return { applied };
  });
}

/** Reverts the last batch of migrations; `rolledBack` is empty when there was none. */
export async function migrateRollback({ databaseUrl, log }: MigrateOptions = {}): Promise<{
  rolledBack: string[];
}> {
  const url = resolveDatabaseUrl(databaseUrl);
  return withDb(url, async (db) => {
    const [batch, rolledBack]: [number, string[]] = await db.migrate.rollback(migratorConfig());
    log?.info({ database: describeDatabase(url), batch, rolledBack }, 'migrations rolled back');
    return { rolledBack };
  });
}

export const PROXY_MIGRATIONS_DIRECTORY = fileURLToPath(new URL('./proxy/', import.meta.url));
/** The proxy's tables have their own bookkeeping: they may share a database with a service's. */
export const PROXY_MIGRATIONS_TABLE = 'strangler_proxy_migrations';

/** Brings the proxy's comparison store up to date; the proxy and the parity CLI call it on open. */
export async function migrateProxyStore(db: Knex): Promise<string[]> {
  const [, applied]: [number, string[]] = await db.migrate.latest({
    migrationSource: migrationSource(PROXY_MIGRATIONS_DIRECTORY),
    tableName: PROXY_MIGRATIONS_TABLE,
  });
  return applied;
}
