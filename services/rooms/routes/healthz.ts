import type { FastifyInstance } from 'fastify';
import type { RoomStore } from '../room-store.ts';

export function registerHealthzRoute(app: FastifyInstance, store: RoomStore): void {
  app.get('/healthz', async (request, reply) => {
    try {
      await store.ping();
      return { status: 'ok' };
    } catch (err) {
      request.log.warn({ err }, 'database unavailable');
      return reply.code(503).send({ status: 'unavailable' });
    }
  });
}
