import { setTimeout as sleep } from 'node:timers/promises';
import { Pool } from 'undici';
import { buildComparator, compareCandidateError, type Comparator } from '../comparison/compare.ts';
import { createNoiseLearner } from '../comparison/noise.ts';
import type { CapturedResponse, ComparisonOutcome, ComparisonResult } from '../comparison/types.ts';
import { SAFE_METHODS, type Config, type RouteConfig } from '../config/schema.ts';
import { buildRedirectRewrites, rewriteRedirectHeaders } from '../forward/rewrite-redirects.ts';
import { buildParityReport } from '../parity/build-parity-report.ts';
import type { ComparisonStore } from '../parity/comparison-store.ts';
import { REDACTED, storeResponse, type Redactor } from '../parity/redact.ts';
import type { ComparisonRecord, ParityReport, RecordedExchange } from '../parity/records.ts';
import { LEGACY } from '../pipeline/exchange.ts';
import { buildRouteTable } from '../routing/route-table.ts';
import { callUpstream, type CopyAnswer } from '../shadow/call-upstream.ts';
import { COPY_HEADER } from '../shadow/shadow-runner.ts';

/**
 * Replay: recorded requests are sent again to legacy and to the route's service, and the two
 * answers are compared by the same engine, with the same rules, as the live shadow run. Noise is
 * learned the same way (legacy asked twice, noiseDelay apart, for the first requests of each
 * route) and applied to the whole run when the report is built.
 */

export interface ReplayOptions {
  config: Config;
  traffic: AsyncIterable<RecordedExchange>;
  redactor: Redactor;
  /** only this route */
  route?: string;
  /** requests started per second; undefined: as fast as concurrency allows */
  rate?: number;
  concurrency: number;
  /** requests per route for which legacy is asked twice to learn noise */
  noiseWarmup: number;
  noiseDelayMs: number;
  timeoutMs: number;
  /** comparisons are also stored here (source replay) */
  store?: ComparisonStore | null;
  onResult?: (outcome: ComparisonOutcome | 'unmatched') => void;
}

export interface ReplayResult {
  report: ParityReport;
  /** recorded requests that matched no compared route (or another route than --route) */
  unmatched: number;
  total: number;
}

export async function replayTraffic(options: ReplayOptions): Promise<ReplayResult> {
  const { config, redactor, concurrency } = options;
  const table = buildRouteTable(config.routes);
  const byName = new Map(config.routes.map((r) => [r.name, r]));
  const learner = createNoiseLearner();
  const redirects = buildRedirectRewrites(config);
  const comparators = new Map<string, Comparator>();
  const warmups = new Map<string, number>();
  const pools = new Map<string, Pool>();
  const poolFor = (url: URL) => {
    let pool = pools.get(url.origin);
    if (!pool) pools.set(url.origin, (pool = new Pool(url.origin, { connections: Math.max(2, concurrency) })));
    return pool;
  };
  const counts = new Map<string, number>();
  const failures: ComparisonRecord[] = [];
  const started = Date.now();
  let unmatched = 0;
  let total = 0;
  const count = (route: string, outcome: ComparisonOutcome) => counts.set(`${route}\u0000${outcome}`, (counts.get(`${route}\u0000${outcome}`) ?? 0) + 1);

  const routeOf = (exchange: RecordedExchange): RouteConfig | undefined => {
    const named = exchange.route ? byName.get(exchange.route) : undefined;
    if (named) return named;
    const found = table.match(exchange.request.method, exchange.request.url);
    return found && typeof found === 'object' ? found.route : undefined;
  };

  const replayOne = async (exchange: RecordedExchange): Promise<void> => {
    const route = routeOf(exchange);
    if (!route || (options.route && route.name !== options.route)) {
      unmatched++;
      options.onResult?.('unmatched');
      return;
    }
    const request = exchange.request;
    const headers: Record<string, string> = { [COPY_HEADER]: 'replay' };
    // redacted values are placeholders: sending them would only earn a 401
    for (const [name, value] of Object.entries(request.headers)) if (value !== REDACTED && name !== 'host') headers[name] = value;
    const body = request.body === undefined ? null : Buffer.from(request.body, request.bodyEncoding === 'base64' ? 'base64' : 'utf8');
    const at = new Date().toISOString();
    let result: ComparisonResult;
    let legacy: CopyAnswer | undefined;
    let service: CopyAnswer | undefined;
    if (request.truncated) {
      result = { outcome: 'skipped', differences: [], noise: [], reason: 'request body was cut at recording.maxBody when recorded; raise it to replay this request' };
    } else if (!SAFE_METHODS.has(request.method) && !route.shadow.writes) {
      result = { outcome: 'skipped', differences: [], noise: [], reason: `write-not-copied: ${request.method} is replayed only with a sandbox (shadow.writes)` };
    } else {
      // each answer's redirects as the client would have got them through the proxy (shadow-runner does the same)
      const client = { headers: { host: typeof request.headers.host === 'string' ? request.headers.host : undefined } };
      const call = async (upstream: string) => {
        const answer = await callUpstream(poolFor(upstream === LEGACY ? config.legacy : config.services[upstream]), { method: request.method, path: request.url, headers, body, timeoutMs: options.timeoutMs, captureLimit: config.comparisons.captureLimit });
        rewriteRedirectHeaders(answer.response.headers, redirects.get(upstream), client);
        return answer;
      };
      const serviceName = SAFE_METHODS.has(request.method) ? route.service : route.shadow.writes!;
      const [l, s] = await Promise.allSettled([call(LEGACY), call(serviceName)]);
      if (l.status === 'rejected') {
        result = { outcome: 'skipped', differences: [], noise: [], reason: `legacy failed: ${(l.reason as Error).message}` };
      } else {
        legacy = l.value;
        service = s.status === 'fulfilled' ? s.value : undefined;
        const seen = warmups.get(route.name) ?? 0;
        if (seen < options.noiseWarmup && SAFE_METHODS.has(request.method)) {
          warmups.set(route.name, seen + 1);
          await sleep(options.noiseDelayMs);
          const again = await call(LEGACY).catch(() => undefined);
          if (again) learner.observe(route.name, legacy.response, again.response);
        }
        let comparator = comparators.get(route.name);
        if (!comparator) comparators.set(route.name, (comparator = buildComparator(route.compare, learner.optionsFor(route.name))));
        result = s.status === 'rejected' ? compareCandidateError(s.reason) : comparator(legacy.response, s.value.response);
      }
    }
    count(route.name, result.outcome);
    options.onResult?.(result.outcome);
    if (result.outcome === 'match' && !options.store) return;
    const record: ComparisonRecord = {
      at,
      route: route.name,
      source: 'replay',
      outcome: result.outcome,
      primary: LEGACY,
      service: route.service,
      request: { method: request.method, url: redactor.url(request.url), headers: redactor.headers(request.headers) },
      differences: result.differences.map((d) => ({
        ...d,
        ...('primary' in d ? { primary: redactor.value(d.path, d.primary) } : {}),
        ...('candidate' in d ? { candidate: redactor.value(d.path, d.candidate) } : {}),
      })),
      noise: result.noise,
    };
    if (result.reason) record.reason = result.reason;
    if (legacy) record.legacy = storeResponse(legacy.response, redactor, config.comparisons.storedBodyLimit);
    if (service) record.serviceResponse = storeResponse(service.response, redactor, config.comparisons.storedBodyLimit);
    if (legacy) record.legacyMs = Math.round(legacy.ms * 10) / 10;
    if (service) record.serviceMs = Math.round(service.ms * 10) / 10;
    if (result.outcome === 'mismatch' || result.outcome === 'candidate-error') failures.push(record);
    options.store?.add(record);
  };

  // a fixed number of workers pull from the file; --rate spaces the starts. The schedule starts
  // with the first request, not with the call: opening the file must not become a burst
  const iterator = options.traffic[Symbol.asyncIterator]();
  let next = 0;
  let paceFrom: number | undefined;
  const interval = options.rate ? 1000 / options.rate : 0;
  const worker = async () => {
    for (;;) {
      const item = await iterator.next();
      if (item.done) return;
      total++;
      if (interval > 0) {
        paceFrom ??= Date.now();
        const due = paceFrom + next++ * interval;
        const wait = due - Date.now();
        if (wait > 0) await sleep(wait);
      }
      await replayOne(item.value);
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.max(1, concurrency) }, worker));
  } finally {
    await Promise.all([...pools.values()].map((p) => p.destroy()));
  }
  await options.store?.flush();

  const noise = new Map(config.routes.map((r) => [r.name, learner.report(r.name).entries]));
  for (const [name, entries] of noise) if (entries.length > 0) options.store?.saveNoise(name, entries);
  await options.store?.flush();
  const report = buildParityReport({
    counts: [...counts].map(([key, n]) => {
      const [route, outcome] = key.split('\u0000');
      return { route, outcome: outcome as ComparisonOutcome, n };
    }),
    failures: failures.reverse(),
    noise,
    window: { from: started, to: Date.now() },
    source: 'replay',
  });
  return { report, unmatched, total };
}

