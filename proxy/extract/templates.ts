import { registerFunctionName, startFunctionName, toPascalCase } from './names.ts';

/**
 * The files `strangler extract` writes, as functions returning their contents. Generated code
 * follows services/rooms/ (the hand-made example): buildApp does not listen, server.ts does,
 * every service opens its database through services/shared/database.ts and takes its request
 * id from services/shared/request-id.ts. Nothing here may assume the demo monolith: the
 * legacy application is whatever routes.yaml's legacy: is (its database, its error shape, its
 * headers are for the engineer to copy from the recorded answers).
 */

/** Where the generator registers the next route module in app.ts; it writes the line itself. */
export const APP_ROUTES_MARKER = '// strangler extract: routes above';
/** Ends the 501 message of a scaffolded handler; the contract test knows a stub by it. */
export const NOT_IMPLEMENTED_TAG = '(strangler extract)';

export interface RouteTemplateInput {
  service: string;
  /** route name in routes.yaml, also the module's file name */
  route: string;
  method: string;
  path: string;
}

export function notImplementedMessage(method: string, path: string): string {
  return `not implemented: ${method} ${path} ${NOT_IMPLEMENTED_TAG}`;
}

/** A JS string literal (single quotes, as the codebase writes them). */
function toLiteral(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'").replace(/\n/g, '\\n')}'`;
}

function routeImport(route: string): string {
  return `import { ${registerFunctionName(route)} } from './routes/${route}.ts';`;
}

export function renderApp(service: string, routes: readonly string[]): string {
  return `import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Knex } from 'knex';
import { readRequestId } from '../shared/request-id.ts';
import { registerHealthzRoute } from './routes/healthz.ts';
${routes.map(routeImport).join('\n')}

/** What every route module gets: the database this service shares with legacy. */
export interface RouteDeps {
  db: Knex;
}

export interface BuildAppOptions {
  db: Knex;
  /** A pino logger (server.ts passes one); none: no logging. */
  logger?: FastifyBaseLogger;
}

/**
 * The ${service} service as a Fastify instance that does not listen (server.ts listens).
 * Each module under routes/ answers one route of routes.yaml; \`strangler extract\` adds the
 * next one above the marker line.
 */
export function buildApp({ db, logger }: BuildAppOptions): FastifyInstance {
  const app = Fastify({
    ...(logger ? { loggerInstance: logger } : { logger: false }),
    // the proxy's x-request-id (or a new id): every log line of a request carries it as reqId
    genReqId: readRequestId,
  }) as unknown as FastifyInstance;

  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });
  // Errors keep Fastify's shape until a route needs legacy's: copy legacy's error bodies and
  // headers (from the recorded answers) where the contract test shows they differ.

  const deps: RouteDeps = { db };
  registerHealthzRoute(app, deps);
${routes.map((r) => `  ${registerFunctionName(r)}(app, deps);`).join('\n')}
  ${APP_ROUTES_MARKER}
  return app;
}
`;
}

/**
 * app.ts with one more route module imported (after the last import) and registered (above the
 * marker); undefined when the marker line is gone.
 */
export function addRouteToApp(source: string, route: string): string | undefined {
  const lines = source.split('\n');
  const marker = lines.findIndex((line) => line.trim() === APP_ROUTES_MARKER);
  if (marker < 0) return undefined;
  const indent = /^\s*/.exec(lines[marker])?.[0] ?? '  ';
  lines.splice(marker, 0, `${indent}${registerFunctionName(route)}(app, deps);`);
  let lastImport = -1;
  lines.forEach((line, i) => {
    if (/^import\s.*;\s*$/.test(line) || /^}\s*from\s+['"].*['"];\s*$/.test(line)) lastImport = i;
  });
  lines.splice(lastImport + 1, 0, routeImport(route));
  return lines.join('\n');
}

/** app.ts already imports the route module. */
export function hasRouteInApp(source: string, route: string): boolean {
  return source.includes(`'./routes/${route}.ts'`);
}

export function renderHealthzRoute(): string {
  return `import type { FastifyInstance } from 'fastify';
import type { RouteDeps } from '../app.ts';

/** 200 while the database answers, 503 otherwise: what a load balancer or the proxy probes. */
export function registerHealthzRoute(app: FastifyInstance, { db }: RouteDeps): void {
  app.get('/healthz', async (request, reply) => {
    try {
      await db.raw('select 1');
      return { status: 'ok' };
    } catch (err) {
      request.log.warn({ err }, 'database unavailable');
      return reply.code(503).send({ status: 'unavailable' });
    }
  });
}
`;
}

export function renderRouteModule(input: RouteTemplateInput): string {
  const { service, route, method, path } = input;
  const params = [...path.matchAll(/:([A-Za-z_][A-Za-z0-9_]*)/g)].map((m) => m[1]);
  const paramsHint = params.length > 0 ? ` Path parameters: request.params as { ${params.map((p) => `${p}: string`).join('; ')} }.` : '';
  return `import type { FastifyInstance } from 'fastify';
import type { RouteDeps } from '../app.ts';

/**
 * ${method} ${path} — route "${route}" in routes.yaml, scaffolded by \`strangler extract\`.
 *
 * To implement: answer exactly as legacy does — the same statuses, the same body (JSON key
 * order included), the same error messages and headers — reading legacy's tables through
 * \`db\` (knex, on DATABASE_URL). ${route}.samples.jsonl beside the contract test holds real
 * requests with legacy's answers to copy. Fields legacy fills anew on every answer (clocks,
 * request ids, tokens) must still be sent; the comparison learns them as noise.
 *
 * Check it with the contract test (TODO until this stops answering 501): against the recorded
 * answers, and with CONTRACT_LIVE=1 against live legacy (routes.yaml's legacy:) as well:
 *   DATABASE_URL=… npx tap test/services/${service}/${route}.contract.test.ts
 */
export function ${registerFunctionName(route)}(app: FastifyInstance, { db }: RouteDeps): void {
  app.${method.toLowerCase()}(${toLiteral(path)}, async (request, reply) => {
    // TODO: read the request, query \`db\`, answer as legacy.${paramsHint}
    return reply.code(501).send({ error: ${toLiteral(notImplementedMessage(method, path))} });
  });
}
`;
}

export function renderServer(service: string, port: number): string {
  const pascal = toPascalCase(service);
  const start = startFunctionName(service);
  return `import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import pino from 'pino';
import { createDb, describeDatabase, requireDatabaseUrl } from '../shared/database.ts';
import { buildApp } from './app.ts';

/** The port routes.yaml expects this service on (services: ${service}: http://127.0.0.1:${port}). */
export const DEFAULT_PORT = ${port};
export const DEFAULT_HOST = '127.0.0.1';
/** After SIGTERM/SIGINT, in-flight requests get this long to finish before a forced exit. */
export const SHUTDOWN_DEADLINE_MS = 10_000;

export interface Start${pascal}Options {
  /** The database legacy reads (the service shares it); defaults to DATABASE_URL, required. */
  databaseUrl?: string;
  host?: string;
  /** 0 picks a free port (tests). */
  port?: number;
  /** A pino logger to log through, or false for none. Default: pino at LOG_LEVEL (info). */
  logger?: FastifyBaseLogger | false;
}

export interface Running${pascal} {
  url: string;
  port: number;
  app: FastifyInstance;
  /** Stops accepting, drains in-flight requests, then closes the database pool. Idempotent. */
  stop(): Promise<void>;
}

export async function ${start}(options: Start${pascal}Options = {}): Promise<Running${pascal}> {
  const databaseUrl = requireDatabaseUrl(options.databaseUrl);
  const logger =
    options.logger === undefined
      ? pino({ name: ${toLiteral(service)}, level: process.env.LOG_LEVEL ?? 'info' })
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
  const url = \`http://\${host.includes(':') ? \`[\${host}]\` : host}:\${port}\`;
  app.log.info({ url, database: describeDatabase(databaseUrl) }, ${toLiteral(`${service} service listening`)});
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
    throw new Error(\`PORT \${JSON.stringify(value)} is not a TCP port: use 0-65535\`);
  }
  return port;
}

async function main(): Promise<void> {
  const log = pino({ name: ${toLiteral(service)}, level: process.env.LOG_LEVEL ?? 'info' });
  let running: Running${pascal};
  try {
    running = await ${start}({
      databaseUrl: process.env.DATABASE_URL,
      host: process.env.HOST || DEFAULT_HOST,
      port: readPort(process.env.PORT),
      logger: log,
    });
  } catch (err) {
    log.fatal({ err }, ${toLiteral(`${service} service failed to start`)});
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
`;
}

export interface ReadmeInput extends RouteTemplateInput {
  port: number;
}

export function renderReadme({ service, route, method, path, port }: ReadmeInput): string {
  return `# ${service} service

A service extracted from the PHP monolith with \`strangler extract\`: an ordinary Fastify 5 app
over legacy's own database (knex, through \`services/shared/database.ts\`). The proxy sends it
the routes of \`routes.yaml\` whose \`service:\` is \`${service}\`; it was created for
\`${method} ${path}\` (route \`${route}\`).

\`\`\`
app.ts          buildApp({ db, logger }): the Fastify app, does not listen; registers routes/*
server.ts       listens (PORT, default ${port}; DATABASE_URL), graceful shutdown on SIGTERM/SIGINT
routes/         healthz.ts and one module per route; a scaffolded handler answers 501
\`\`\`

## Run it

\`\`\`sh
DATABASE_URL=mysql://user:password@127.0.0.1:3306/app PORT=${port} node --import tsx services/${service}/server.ts
curl -s http://127.0.0.1:${port}/healthz
\`\`\`

\`DATABASE_URL\` is the database legacy reads and writes (\`mysql://…\` for MySQL/MariaDB, or
\`sqlite:<path>\`); the service does not start without it. Every log line of a request carries
its id as \`reqId\`: the \`x-request-id\` the proxy sent, so the proxy's, this service's and
legacy's lines of one request can be joined. A schema change the service needs is a knex
migration under \`migrations/${service}/\` (\`strangler extract … --migration\` writes a stub).

## Implement a route

1. Read legacy's answers to copy: \`test/services/${service}/<route>.samples.jsonl\` holds real
   requests of the route and legacy's answers (status, headers, body), and legacy's own code
   says where the data comes from.
2. Replace the 501 in \`routes/<route>.ts\` with the same behaviour: statuses, body (JSON key
   order included), error messages, the headers legacy sends.
3. Check it:

   \`\`\`sh
   DATABASE_URL=… npx tap test/services/${service}/<route>.contract.test.ts
   CONTRACT_LIVE=1 DATABASE_URL=… npx tap test/services/${service}/<route>.contract.test.ts
   \`\`\`

   The contract test starts this service on \`DATABASE_URL\` (without it: an empty SQLite
   database), sends it every safe request of \`<route>.samples.jsonl\` and compares each answer
   with the answer legacy gave when it was recorded (timestamps aside), under the route's
   \`compare:\` rules from \`routes.yaml\`. With \`CONTRACT_LIVE=1\` it also asks live legacy
   (\`routes.yaml\`'s \`legacy:\`; \`CONTRACT_LEGACY_URL=<url>\` names another): the service is
   compared with legacy's answer of now, legacy is asked twice to learn what is noise (clocks,
   request ids, shuffled lists), and each recorded answer is checked to still describe legacy.
   A sample that writes (POST, PUT…) is never sent to live legacy or to \`DATABASE_URL\`'s data.
   While the handler answers 501 the comparisons are reported as TODO; once it answers, every
   difference fails the test. Add samples by running \`strangler extract\` again with
   \`--samples <recording>\` or \`--paths "…"\` (asks routes.yaml's legacy); to re-record, delete
   the samples file first.
4. Shadow it (\`stage: shadow\` in routes.yaml: legacy answers, this service gets a copy), watch
   \`npx strangler parity\`, then shift traffic: \`npx strangler shift <route> 5\`.
`;
}

export function renderMigration({ service, route, method, path }: RouteTemplateInput): string {
  return `import type { Knex } from 'knex';

// What the ${service} service needs in the schema for ${method} ${path} (route ${route}).
// Legacy owns its tables and still reads and writes them: add (indexes, new tables), never
// change or drop what legacy uses.

export async function up(knex: Knex): Promise<void> {
  // TODO: e.g. await knex.schema.alterTable('<table>', (t) => { t.index(['<column>'], '<table>_<column>_index'); });
}

export async function down(knex: Knex): Promise<void> {
  // TODO: undo up(), e.g. await knex.schema.alterTable('<table>', (t) => { t.dropIndex(['<column>'], '<table>_<column>_index'); });
}
`;
}

export interface ContractTestInput extends RouteTemplateInput {
  /** from the test's folder to routes.yaml, posix separators */
  configPath: string;
}

export function renderContractTest({ service, route, method, path, configPath }: ContractTestInput): string {
  return `/**
 * Contract of ${method} ${path} (route ${route}): the ${service} service answers the recorded
 * requests in ${route}.samples.jsonl as legacy did. Generated by \`strangler extract\`; how it
 * works: test/helpers/contract.ts. TODO while the handler still answers 501.
 *   DATABASE_URL=<legacy's database> npx tap <this file>          against the recorded answers
 *   CONTRACT_LIVE=1 DATABASE_URL=… npx tap <this file>            and against live legacy
 *   CONTRACT_LEGACY_URL=<url> DATABASE_URL=… npx tap <this file>  and against that legacy
 */
import t from 'tap';
import { buildApp } from '../../../services/${service}/app.ts';
import { checkContract } from '../../helpers/contract.ts';

t.test(${toLiteral(`${method} ${path} (${route}) answers like legacy`)}, (t) =>
  checkContract(t, {
    config: new URL(${toLiteral(configPath)}, import.meta.url),
    route: ${toLiteral(route)},
    samples: new URL(${toLiteral(`./${route}.samples.jsonl`)}, import.meta.url),
    migrations: new URL(${toLiteral(`../../../migrations/${service}/`)}, import.meta.url),
    buildApp,
  }),
);
`;
}
