import FindMyWay from 'find-my-way';
import { Pool } from 'undici';
import { SAFE_METHODS } from '../config/schema.ts';
import { errors, StranglerError } from '../errors.ts';
import { stripHopByHop } from '../forward/hop-by-hop.ts';
import { decodeResponse } from '../comparison/decode-body.ts';
import { storeResponse, type Redactor } from '../parity/redact.ts';
import type { RecordedExchange } from '../parity/records.ts';
import { readTraffic } from '../replay/read-traffic.ts';
import { callUpstream } from '../shadow/call-upstream.ts';

/**
 * The samples a contract test holds a service to: real requests of one route and legacy's
 * answers to them, as RecordedExchange lines (the format the proxy's recorder writes, so
 * readTraffic reads them back).
 */

export const DEFAULT_MAX_SAMPLES = 20;
const RECORD_TIMEOUT_MS = 10_000;
const RECORD_CAPTURE_LIMIT = 1024 * 1024;

export interface RouteMatcher {
  /** the request (path with query) is one of this route's */
  matches(method: string, url: string): boolean;
}

export function buildRouteMatcher(method: string, path: string): RouteMatcher {
  const router = FindMyWay({ caseSensitive: true, ignoreTrailingSlash: false });
  router.on(method as FindMyWay.HTTPMethod, path, () => {});
  return {
    matches(m, url) {
      if (m.toUpperCase() !== method) return false;
      try {
        return router.find(method as FindMyWay.HTTPMethod, url) !== null;
      } catch {
        return false;
      }
    },
  };
}

/** Two samples of the same request are one: method, URL and body decide. */
export function sampleKey(exchange: RecordedExchange): string {
  const { method, url, body } = exchange.request;
  return `${method} ${url}\u0000${body ?? ''}`;
}

/**
 * The route's exchanges of a recording (JSONL) or HAR file, in file order, at most `max`, not in
 * `skip`. Redacted as the recorder redacts: a HAR holds cookies and tokens, and samples are
 * committed with the test.
 */
export async function readSamples(
  file: string,
  route: { name: string; matcher: RouteMatcher; match: string },
  options: { max: number; skip: ReadonlySet<string>; redactor: Redactor },
): Promise<RecordedExchange[]> {
  const found: RecordedExchange[] = [];
  const keys = new Set(options.skip);
  let seen = 0;
  let matched = 0;
  for await (const exchange of readTraffic(file)) {
    seen++;
    if (!route.matcher.matches(exchange.request.method, exchange.request.url)) continue;
    matched++;
    const key = sampleKey(exchange);
    if (keys.has(key)) continue;
    keys.add(key);
    if (found.length < options.max) found.push({ ...(await redactExchange(exchange, options.redactor)), route: route.name });
  }
  if (matched === 0) throw errors.extractNoSamples(file, route.match, seen);
  return found;
}

/** Asks legacy now for each path (safe methods only) and keeps its answers as samples. */
export async function recordFromLegacy(
  legacyUrl: string,
  paths: readonly string[],
  route: { name: string; method: string; matcher: RouteMatcher; match: string },
  options: { max: number; skip: ReadonlySet<string>; redactor: Redactor; now?: () => Date },
): Promise<RecordedExchange[]> {
  if (!SAFE_METHODS.has(route.method)) throw errors.extractUnsafeRecording(route.method);
  for (const p of paths) if (!route.matcher.matches(route.method, p)) throw errors.extractSamplePathMismatch(p, route.match);
  let origin: string;
  try {
    origin = new URL(legacyUrl).origin;
  } catch (err) {
    throw errors.extractLegacyUnreachable(legacyUrl, 'not an http(s) URL', err);
  }
  const wanted = paths
    .map((url): RecordedExchange => ({ at: '', route: route.name, request: { method: route.method, url, headers: {} } }))
    .filter((e) => !options.skip.has(sampleKey(e)))
    .slice(0, Math.max(0, options.max));
  if (wanted.length === 0) return [];
  const pool = new Pool(origin, { connections: 1 });
  try {
    const recorded: RecordedExchange[] = [];
    for (const exchange of wanted) {
      const { method, url } = exchange.request;
      let answer;
      try {
        answer = await callUpstream(pool, { method, path: url, headers: { accept: 'application/json' }, body: null, timeoutMs: RECORD_TIMEOUT_MS, captureLimit: RECORD_CAPTURE_LIMIT });
      } catch (err) {
        if (err instanceof StranglerError) throw err;
        throw errors.extractLegacyUnreachable(legacyUrl, `${method} ${url}: ${(err as Error).message}`, err);
      }
      const headers = { ...answer.response.headers };
      stripHopByHop(headers);
      recorded.push({
        at: (options.now?.() ?? new Date()).toISOString(),
        route: route.name,
        request: { method, url, headers: { accept: 'application/json' } },
        response: storeResponse({ ...answer.response, headers }, options.redactor, RECORD_CAPTURE_LIMIT),
      });
    }
    return recorded;
  } finally {
    await pool.destroy();
  }
}

async function redactExchange(exchange: RecordedExchange, redactor: Redactor): Promise<RecordedExchange> {
  const { request, response } = exchange;
  const out: RecordedExchange = { ...exchange, request: { ...request, url: redactor.url(request.url), headers: redactor.headers(request.headers) } };
  if (request.body !== undefined) {
    const body = redactor.body(decode(request.body, request.bodyEncoding), request.headers['content-type'], RECORD_CAPTURE_LIMIT);
    out.request.body = body.body;
    out.request.bodyEncoding = body.bodyEncoding;
    if (body.truncated || request.truncated) out.request.truncated = true;
  }
  if (response) {
    // a recording written before the recorder decoded bodies holds them as legacy coded them
    const captured = await decodeResponse(
      { status: response.status, headers: response.headers, body: decode(response.body, response.bodyEncoding), truncated: response.truncated, decodedFrom: response.decodedFrom },
      RECORD_CAPTURE_LIMIT,
    );
    out.response = storeResponse(captured, redactor, RECORD_CAPTURE_LIMIT);
  }
  return out;
}

function decode(body: string, encoding: 'utf8' | 'base64' | undefined): Buffer {
  return Buffer.from(body, encoding === 'base64' ? 'base64' : 'utf8');
}
