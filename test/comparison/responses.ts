import type { CapturedResponse } from '../../proxy/comparison/types.ts';

/** A JSON answer as legacy sends it. */
export function jsonResponse(body: unknown, init: { status?: number; headers?: CapturedResponse['headers'] } = {}): CapturedResponse {
  return {
    status: init.status ?? 200,
    headers: { 'content-type': 'application/json; charset=utf-8', ...init.headers },
    body: Buffer.from(JSON.stringify(body)),
  };
}

export function textResponse(body: string | Buffer, contentType: string, init: { status?: number; truncated?: boolean } = {}): CapturedResponse {
  return {
    status: init.status ?? 200,
    headers: { 'content-type': contentType },
    body: Buffer.isBuffer(body) ? body : Buffer.from(body),
    truncated: init.truncated,
  };
}

/** GET /api/rooms/42 of the Timing demo, with the noise legacy adds on purpose. */
export function roomDetail(noise: { generatedAt: string; requestId: string; tags: string[] }, rename?: { from: string; to: string }) {
  const data: Record<string, unknown> = {
    id: 42,
    name: 'Quiet corner',
    topic: 'math',
    capacity: 8,
    member_count: 3,
    is_public: true,
    owner: { id: 7, name: 'Ada' },
    created_at: '2024-03-01T09:30:00Z',
    description: 'Silent study, no calls.',
    tags: noise.tags,
    members: [
      { id: 7, name: 'Ada' },
      { id: 9, name: 'Grace' },
      { id: 12, name: 'Linus' },
    ],
  };
  if (rename) {
    data[rename.to] = data[rename.from];
    delete data[rename.from];
  }
  return { data, generated_at: noise.generatedAt, request_id: noise.requestId };
}
