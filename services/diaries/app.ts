import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Knex } from 'knex';
import { readRequestId } from '../shared/request-id.ts';
import { registerHealthzRoute } from './routes/healthz.ts';
import { registerDiariesListRoute } from './routes/diaries-list.ts';

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
 * The diaries service as a Fastify instance that does not listen (server.ts listens).
 * Each module under routes/ answers one route of routes.yaml; `strangler extract` adds the
 * next one above the marker line.
 */
export function buildApp({ db, logger }: BuildAppOptions): FastifyInstance {
  const app = Fastify({
    ...(logger ? { loggerInstance: logger } : { logger: false }),
    // the proxy's x-request-id, so this service's log lines join the proxy's and legacy's
    genReqId: readRequestId,
  }) as unknown as FastifyInstance;

  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
    // As legacy's JSON answers: every answer here is live data.
    reply.header('cache-control', 'no-store');
  });

  // Errors shaped as legacy's: {"error": "<message>"}.
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

  const deps: RouteDeps = { db };
  registerHealthzRoute(app, deps);
  registerDiariesListRoute(app, deps);
  // strangler extract: routes above
  return app;
}
