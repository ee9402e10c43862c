import { fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import knex from 'knex';
import type { ChildOptions, ChildReady } from './unleash-server-child.ts';

/**
 * A real Unleash server (npm unleash-server, a devDependency) for tests, each one over a fresh
 * PostgreSQL database. `POSTGRES_URL` (default postgres://postgres@127.0.0.1:5432/postgres)
 * names a database to connect to while creating and dropping them. Without PostgreSQL or
 * unleash-server the caller skips, loudly, with `unleashSkipReason`.
 */
const POSTGRES_URL = process.env.POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const START_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 10_000;
const CHILD = fileURLToPath(new URL('./unleash-server-child.ts', import.meta.url));
/** the environment the client token reads, and UnleashAdmin's default */
const ENVIRONMENT = 'development';
const PROJECT = 'default';

export const unleashSkipReason: string | false = await findSkipReason();

export interface RunningUnleash {
  /** the server's base address, e.g. http://127.0.0.1:41234 (what UnleashAdmin takes) */
  url: string;
  /** `${url}/api`: what unleash-client (flags.unleash.url) takes */
  apiUrl: string;
  /** admin API token for every project and environment */
  adminToken: string;
  /** backend token for project "default", environment "development" */
  clientToken: string;
  /** stops the server and drops its database; safe to call twice */
  stop(): Promise<void>;
}

interface TestLike {
  teardown(fn: () => unknown): void;
}

/** Starts a real Unleash server on a free port; it is stopped when the test ends. */
export async function startUnleashServer(t: TestLike): Promise<RunningUnleash> {
  if (unleashSkipReason) throw new Error(unleashSkipReason);
  const database = `strangler_unleash_${randomBytes(4).toString('hex')}`;
  await withPostgres((db) => db.raw(`CREATE DATABASE ${database}`));
  const dropDatabase = () => withPostgres((db) => db.raw(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`));

  const pg = new URL(POSTGRES_URL);
  const options: ChildOptions = {
    database: {
      host: pg.hostname,
      port: Number(pg.port || 5432),
      user: decodeURIComponent(pg.username),
      password: decodeURIComponent(pg.password),
      database,
    },
    adminToken: `*:*.${randomBytes(16).toString('hex')}`,
    clientToken: { secret: `${PROJECT}:${ENVIRONMENT}.${randomBytes(16).toString('hex')}`, project: PROJECT, environment: ENVIRONMENT },
  };
  const child = fork(CHILD, {
    // the test runner's own loader flags are not for this process
    execArgv: ['--import', import.meta.resolve('tsx')],
    env: { ...process.env, STRANGLER_UNLEASH_CHILD: JSON.stringify(options) },
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  let output = '';
  const keep = (chunk: Buffer) => void (output = (output + chunk.toString('utf8')).slice(-4000));
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  let port: number;
  try {
    port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`unleash-server did not start within ${START_TIMEOUT_MS} ms; its output:\n${output}`)), START_TIMEOUT_MS);
      child.once('message', (m: ChildReady) => (clearTimeout(timer), resolve(m.port)));
      child.once('exit', (code, signal) => (clearTimeout(timer), reject(new Error(`unleash-server exited (${signal ?? code}) before it listened; its output:\n${output}`))));
    });
  } catch (err) {
    child.kill('SIGKILL');
    await exited;
    await dropDatabase();
    throw err;
  }

  let stopped: Promise<void> | undefined;
  const stop = () =>
    (stopped ??= (async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.send('stop');
        const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
        await exited;
        clearTimeout(timer);
      }
      await dropDatabase();
    })());
  t.teardown(stop);
  const url = `http://127.0.0.1:${port}`;
  return { url, apiUrl: `${url}/api`, adminToken: options.adminToken, clientToken: options.clientToken.secret, stop };
}

async function withPostgres<T>(fn: (db: knex.Knex) => Promise<T>): Promise<T> {
  const db = knex({
    client: 'pg',
    connection: { connectionString: POSTGRES_URL, connectionTimeoutMillis: 3000 },
    pool: { min: 0, max: 1 },
    acquireConnectionTimeout: 5000,
    // failures are thrown to the caller; knex would also print them
    log: { warn() {}, error() {}, deprecate() {}, debug() {} },
  });
  try {
    return await fn(db);
  } finally {
    await db.destroy();
  }
}

async function findSkipReason(): Promise<string | false> {
  try {
    import.meta.resolve('unleash-server');
  } catch {
    return 'unleash-server is not installed: real Unleash server tests SKIPPED (npm ci installs it as a devDependency)';
  }
  try {
    await withPostgres((db) => db.raw('select 1'));
  } catch (err) {
    const where = new URL(POSTGRES_URL).host;
    return `PostgreSQL not reachable at ${where} (${(err as Error).message}): real Unleash server tests SKIPPED (set POSTGRES_URL=postgres://user@host:5432/postgres; .ci/run provides it)`;
  }
  return false;
}
