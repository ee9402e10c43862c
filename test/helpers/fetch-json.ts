import type { Test } from 'tap';

export interface JsonResponse {
  status: number;
  headers: Headers;
  /** The body exactly as sent. */
  text: string;
  body: any;
}

export async function fetchJson(url: string): Promise<JsonResponse> {
  const res = await fetch(url);
  const text = await res.text();
  return { status: res.status, headers: res.headers, text, body: JSON.parse(text) };
}

const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;
const REQUEST_ID = /^[0-9a-f]{16}$/;

/**
 * Asserts the legacy envelope's noise fields (generated_at, request_id as the two last keys,
 * request_id echoed in x-request-id) and returns the body text without them, key order intact,
 * for an exact comparison with the contract.
 */
export function withoutNoise(t: Test, res: JsonResponse): string {
  const { generated_at, request_id, ...rest } = res.body;
  t.match(generated_at, ISO_UTC, 'generated_at is ISO 8601 UTC');
  t.match(request_id, REQUEST_ID, 'request_id is 16 lowercase hex chars');
  t.equal(res.headers.get('x-request-id'), request_id, 'x-request-id header carries request_id');
  t.strictSame(Object.keys(res.body).slice(-2), ['generated_at', 'request_id'], 'noise fields last');
  t.equal(res.headers.get('content-type'), 'application/json; charset=utf-8');
  t.equal(res.headers.get('cache-control'), 'no-store');
  return JSON.stringify(rest);
}
