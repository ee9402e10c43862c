import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import pino from 'pino';
import { createDb, describeDatabase, resolveDatabaseUrl } from '../shared/database.ts';
import { buildApp } from './app.ts';

/** The port routes.yaml expects this service on (services: diaries: http://127.0.0.1:3102). */
export const DEFAULT_PORT = 3102;
export const DEFAULT_HOST = '127.0.0.1';
/** After SIGTERM/SIGINT, in-flight requests get this long to finish before a forced exit. */
export const SHUTDOWN_DEADLINE_MS = 10_000;

export interface StartDiariesOptions {
  /** Defaults to DATABASE_URL, then sqlite:var/timing.sqlite (legacy's database). */
  databaseUrl?: string;
  host?: string;
  /** 0 picks a free port (tests). */
  port?: number;
  /** A pino logger to log through, or false for none. Default: pino at LOG_LEVEL (info). */
  logger?: FastifyBaseLogger | false;
}

export interface RunningDiaries {
  url: string;
  port: number;
  app: FastifyInstance;
  /** Stops accepting, drains in-flight requests, then closes the database pool. Idempotent. */
  stop(): Promise<void>;
}

export async function startDiaries(options: StartDiariesOptions = {}): Promise<RunningDiaries> {
  const databaseUrl = resolveDatabaseUrl(options.databaseUrl);
  const logger =
    options.logger === undefined
      ? pino({ name: 'diaries', level: process.env.LOG_LEVEL ?? 'info' })
      : options.logger || undefined;
  const db = createDb(databaseUrl);
  const app = buildApp({ db, logger });
  const host = options.host ?? DEFAULT_HOST;
  try {
    await app.listen({ host, port: options.port ?? DEFAULT_PORT });
  } catch (err) {
    await app.close();
    await db.destroy();
    throw err;
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : Number(options.port);
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  app.log.info({ url, database: describeDatabase(databaseUrl) }, 'diaries service listening');
  try {
    await db.raw('select 1');
  } catch (err) {
    // Keep serving: /healthz reports 503 until the database answers.
    app.log.warn({ err, database: describeDatabase(databaseUrl) }, 'database unreachable at start');
  }

  let stopping: Promise<void> | undefined;
  return {
    url,
    port,
    app,
    stop() {
      stopping ??= (async () => {
        await app.close();
        await db.destroy();
      })();
      return stopping;
    },
  };
}

function readPort(value: string | undefined): number {
  if (value === undefined || value === '') return DEFAULT_PORT;
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`PORT ${JSON.stringify(value)} is not a TCP port: use 0-65535`);
  }
  return port;
}

async function main(): Promise<void> {
  const log = pino({ name: 'diaries', level: process.env.LOG_LEVEL ?? 'info' });
  let running: RunningDiaries;
  try {
    running = await startDiaries({
      databaseUrl: process.env.DATABASE_URL,
      host: process.env.HOST || DEFAULT_HOST,
      port: readPort(process.env.PORT),
      logger: log,
    });
  } catch (err) {
    log.fatal({ err }, 'diaries service failed to start');
    process.exit(1);
  }

  let shuttingDown = false;
  const shutdown = async (signal: NodeJS.Signals) => {
    if (shuttingDown) {
      log.warn({ signal }, 'second signal, forcing exit');
      process.exit(1);
    }
    shuttingDown = true;
    log.info({ signal, deadlineMs: SHUTDOWN_DEADLINE_MS }, 'shutting down');
    setTimeout(() => {
      log.error({ deadlineMs: SHUTDOWN_DEADLINE_MS }, 'shutdown deadline passed, forcing exit');
      process.exit(1);
    }, SHUTDOWN_DEADLINE_MS).unref();
    try {
      await running.stop();
    } catch (err) {
      log.error({ err }, 'shutdown failed');
      process.exit(1);
    }
    log.info('stopped');
    process.exit(0);
  };
  process.on('SIGTERM', (signal) => void shutdown(signal));
  process.on('SIGINT', (signal) => void shutdown(signal));
}

function isEntryPoint(): boolean {
  const entry = process.argv[1];
  if (!entry) return false;
  try {
    return import.meta.url === pathToFileURL(realpathSync(entry)).href;
  } catch {
    return false;
  }
}

if (isEntryPoint()) await main();
