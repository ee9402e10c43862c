import type { FastifyInstance } from 'fastify';
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
