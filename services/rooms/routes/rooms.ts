import type { FastifyInstance, FastifyRequest } from 'fastify';
import { readQueryParam } from '../read-query-param.ts';
import type { RoomStore } from '../room-store.ts';

/** Contract "GET /api/rooms": defaults and the per_page ceiling. */
export const DEFAULT_PAGE = 1;
export const DEFAULT_PER_PAGE = 20;
export const MAX_PER_PAGE = 100;

// Legacy's Format::positiveInt: decimal digits only (leading zeros allowed), at most 18 of
// them, value >= 1.
const POSITIVE_INTEGER = /^[0-9]{1,18}$/;

/** The integer a string denotes when it is a positive integer in legacy's sense, else undefined. */
export function parsePositiveInteger(value: string): number | undefined {
  if (!POSITIVE_INTEGER.test(value)) return undefined;
  const n = Number(value);
  return n >= 1 ? n : undefined;
}

/** page / per_page: the default when absent, undefined when present but not a positive integer. */
function readPositiveQueryInt(request: FastifyRequest, name: string, fallback: number): number | undefined {
  const param = readQueryParam(request.url, name);
  if (param.kind === 'absent') return fallback;
  return param.kind === 'string' ? parsePositiveInteger(param.value) : undefined;
}

/** The legacy envelope's noise fields: this service's own clock and request id. */
function withNoise<T extends object>(request: FastifyRequest, body: T) {
  return {
    ...body,
    generated_at: `${new Date().toISOString().slice(0, 19)}Z`,
    request_id: request.id,
  };
}

export function registerRoomsRoutes(app: FastifyInstance, store: RoomStore): void {
  app.get('/api/rooms', async (request, reply) => {
    const page = readPositiveQueryInt(request, 'page', DEFAULT_PAGE);
    if (page === undefined) {
      return reply.code(400).send({ error: 'page must be a positive integer' });
    }
    const requestedPerPage = readPositiveQueryInt(request, 'per_page', DEFAULT_PER_PAGE);
    if (requestedPerPage === undefined) {
      return reply.code(400).send({ error: 'per_page must be a positive integer' });
    }
    const perPage = Math.min(requestedPerPage, MAX_PER_PAGE);
    const topicParam = readQueryParam(request.url, 'topic');
    // As legacy: an empty or array-valued topic means "no filter".
    const topic = topicParam.kind === 'string' && topicParam.value !== '' ? topicParam.value : undefined;

    const { rooms, total } = await store.listRooms({ topic, page, perPage });
    return withNoise(request, { data: rooms, page, per_page: perPage, total });
  });

  app.get('/api/rooms/:id', async (request, reply) => {
    const { id: rawId } = request.params as { id: string };
    const id = parsePositiveInteger(rawId);
    const room = id === undefined ? undefined : await store.findRoom(id);
    if (!room) return reply.code(404).send({ error: 'room not found' });
    return withNoise(request, { data: room });
  });
}
