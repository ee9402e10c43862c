import Fastify, {
  LogController,
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from 'fastify';
import type { Knex } from 'knex';
import { readRequestId } from '../shared/request-id.ts';
import type { LoggerOptions } from 'pino';
import { createRoomStore } from './room-store.ts';
import { registerHealthzRoute } from './routes/healthz.ts';
import { registerRoomsRoutes } from './routes/rooms.ts';

export interface BuildAppOptions {
  db: Knex;
  /** An existing pino logger (e.g. a child of the demo's); wins over loggerOptions. */
  logger?: FastifyBaseLogger;
  /** Options for a pino logger Fastify creates. Neither option: no logging. */
  loggerOptions?: LoggerOptions;
  /**
   * Test-only: makes the service answer differently from legacy on purpose (a renamed JSON key),
   * so parity tooling can be shown to catch it. Never set in production.
   */
  testFault?: { renameField: { from: string; to: string } };
}

/** ROOMS_TEST_RENAME_FIELD=from:to → the test-only fault; unset (always, outside tests) → none. */
export function readTestFault(env: NodeJS.ProcessEnv = process.env): BuildAppOptions['testFault'] {
  const raw = env.ROOMS_TEST_RENAME_FIELD;
  const m = raw ? /^([A-Za-z0-9_]+):([A-Za-z0-9_]+)$/.exec(raw) : null;
  return m ? { renameField: { from: m[1], to: m[2] } } : undefined;
}

function renameKey(value: unknown, from: string, to: string): unknown {
  if (Array.isArray(value)) return value.map((v) => renameKey(v, from, to));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k === from ? to : k, renameKey(v, from, to)]));
  }
  return value;
}

/** One log line per request, when it completes, instead of Fastify's incoming/completed pair. */
class OneLinePerRequest extends LogController {
  incomingRequest(): void {}

  requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    const line = {
      method: request.method,
      url: request.url,
      statusCode: reply.statusCode,
      responseTimeMs: Math.round(reply.elapsedTime * 10) / 10,
    };
    if (error) reply.log.error({ ...line, err: error }, 'request errored');
    else reply.log.info(line, 'request completed');
  }
}

/** The rooms service as a Fastify instance that does not listen (server.ts listens). */
export function buildApp({ db, logger, loggerOptions, testFault }: BuildAppOptions): FastifyInstance {
  const app = Fastify({
    ...(logger ? { loggerInstance: logger } : { logger: loggerOptions ?? false }),
    // the proxy's x-request-id, so this service's log lines join the proxy's and legacy's
    genReqId: readRequestId,
    logController: new OneLinePerRequest(),
  }) as unknown as FastifyInstance;

  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
    // As legacy's JSON answers: every answer here is live data.
    reply.header('cache-control', 'no-store');
  });

  app.setNotFoundHandler((request, reply) => {
    reply.code(404).send({ error: 'not found' });
  });

  app.setErrorHandler((err: Error & { statusCode?: number }, request, reply) => {
    const status = err.statusCode ?? 500;
    if (status < 500) {
      reply.code(status).send({ error: err.message });
      return;
    }
    request.log.error({ err }, 'request failed');
    reply.code(500).send({ error: 'internal error' });
  });

  if (testFault) {
    const { from, to } = testFault.renameField;
    app.addHook('preSerialization', async (_request, _reply, payload) => renameKey(payload, from, to));
  }

  const store = createRoomStore(db);
  registerRoomsRoutes(app, store);
  registerHealthzRoute(app, store);
  return app;
}
