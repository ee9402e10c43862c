import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { RouteDeps } from '../app.ts';

/**
 * GET /api/diaries?user=ID — route "diaries-list" in routes.yaml, scaffolded by `strangler
 * extract` and implemented after legacy's DiariesController::list: a user's newest 50 diary
 * entries, 400 when user is not a positive integer, 404 when the user does not exist.
 * Checked against live legacy by test/services/diaries/diaries-list.contract.test.ts.
 */

/** Legacy's DiariesController::LIST_LIMIT. */
export const LIST_LIMIT = 50;

// Legacy's Format::positiveInt: decimal digits only, at most 18 of them, value >= 1.
const POSITIVE_INTEGER = /^[0-9]{1,18}$/;
const STORED_DATETIME = /^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}:\d{2})/;

interface DiaryRow {
  id: number | string;
  user_id: number | string;
  title: string;
  body: string;
  mood: string;
  created_at: string | Date;
}

export function registerDiariesListRoute(app: FastifyInstance, { db }: RouteDeps): void {
  app.get('/api/diaries', async (request, reply) => {
    const userId = readUserId(request);
    if (userId === undefined) return reply.code(400).send({ error: 'user must be a positive integer' });
    const user = await db('users').where({ id: userId }).first('id');
    if (!user) return reply.code(404).send({ error: 'user not found' });
    const rows: DiaryRow[] = await db('diaries')
      .select('id', 'user_id', 'title', 'body', 'mood', 'created_at')
      .where({ user_id: userId })
      .orderBy([
        { column: 'created_at', order: 'desc' },
        { column: 'id', order: 'desc' },
      ])
      .limit(LIST_LIMIT);
    return {
      data: rows.map((row) => ({
        id: Number(row.id),
        user_id: Number(row.user_id),
        title: String(row.title),
        body: String(row.body),
        mood: String(row.mood),
        created_at: toIsoUtc(row.created_at),
      })),
      // legacy's envelope: this service's own clock and request id (noise to the comparison)
      generated_at: `${new Date().toISOString().slice(0, 19)}Z`,
      request_id: request.id,
    };
  });
}

/** ?user= as PHP reads it: the last occurrence wins; absent, empty or not digits → undefined. */
function readUserId(request: FastifyRequest): number | undefined {
  const query = request.url.includes('?') ? request.url.slice(request.url.indexOf('?') + 1) : '';
  const values = new URLSearchParams(query).getAll('user');
  const value = values.at(-1);
  if (value === undefined || !POSITIVE_INTEGER.test(value)) return undefined;
  const n = Number(value);
  return n >= 1 ? n : undefined;
}

/** Stored 'YYYY-MM-DD HH:MM:SS' (UTC) → 'YYYY-MM-DDTHH:MM:SSZ', as legacy's Format::iso. */
function toIsoUtc(value: string | Date): string {
  if (value instanceof Date) return `${value.toISOString().slice(0, 19)}Z`;
  const match = STORED_DATETIME.exec(value);
  if (!match) throw new Error(`stored datetime ${JSON.stringify(value)} is not UTC 'YYYY-MM-DD HH:MM:SS'`);
  return `${match[1]}T${match[2]}Z`;
}
