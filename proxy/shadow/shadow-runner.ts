import { pipeline, Transform, type Readable } from 'node:stream';
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import { Pool } from 'undici';
import { SAFE_METHODS, type Config, type RouteConfig } from '../config/schema.ts';
import { buildComparator, compareCandidateError, type Comparator } from '../comparison/compare.ts';
import { decodeResponse } from '../comparison/decode-body.ts';
import { createNoiseLearner, type NoiseLearner } from '../comparison/noise.ts';
import type { CapturedResponse, ComparisonOutcome, ComparisonResult } from '../comparison/types.ts';
import { stripHopByHop } from '../forward/hop-by-hop.ts';
import { rewriteRedirectHeaders, type RedirectRewrites } from '../forward/rewrite-redirects.ts';
import { REQUEST_ID_HEADER } from '../forward/request-id.ts';
import type { ComparisonStore } from '../parity/comparison-store.ts';
import { storeResponse, type Redactor } from '../parity/redact.ts';
import type { ComparisonRecord, StoredResponse } from '../parity/records.ts';
import { LEGACY, type Exchange, type PrimaryTap } from '../pipeline/exchange.ts';
import { BodyCapture } from './body-capture.ts';
import { callUpstream, type CopyAnswer } from './call-upstream.ts';
import { isSampled } from './is-sampled.ts';

/**
 * The parallel run: a sampled request is answered by its primary as usual and also sent to the
 * other side; once both answers are in, they are compared off the request path and the result
 * is stored. Nothing here may delay or break the primary's answer: copies have their own
 * connection pools, a timeout, a global bound on how many are in flight (excess copies are
 * skipped and counted, never queued), and every failure ends as a stored outcome.
 */
export interface ShadowRunner {
  /** the copy stage: decides whether this request is copied, and if so starts the copy */
  plan(exchange: Exchange, config: Config, redactor: Redactor, redirects: RedirectRewrites): void;
  stats(): ShadowStats;
  /** the noise learned so far, per route (also stored) */
  readonly learner: NoiseLearner;
  /** resolves when no copy is in flight any more (for tests and shutdown) */
  idle(): Promise<void>;
  /** resolves when no noise call is pending */
  noiseIdle(): Promise<void>;
  close(): Promise<void>;
}

export type SkipReason = 'write-not-copied' | 'concurrency' | 'request-body-too-large' | 'primary-failed' | 'client-aborted';

export interface ShadowStats {
  inFlight: number;
  /** the most copies ever in flight at once */
  highWater: number;
  started: number;
  skipped: Record<SkipReason, number>;
  outcomes: Record<ComparisonOutcome, number>;
}

export interface ShadowRunnerOptions {
  logger: Logger;
  /**
   * where comparisons go, read at each copy: a store opened by a hot reload (the first route
   * that compares) takes them from the next copy on. null: comparisons are counted but not stored
   */
  store: () => ComparisonStore | null;
  /** every outcome, for metrics */
  onOutcome?: (route: string, outcome: ComparisonOutcome) => void;
}

/** Noise calls pending at once; more are not made (noise is learned from a sample anyway). */
const MAX_NOISE_CALLS = 8;

/** Marks a copy so a service can tell it from real traffic (and e.g. skip sending e-mails). */
export const COPY_HEADER = 'x-strangler-copy';

/** Request headers that say nothing about what was asked; not stored. */
const UNSTORED_REQUEST_HEADERS = /^(x-forwarded-|x-real-ip$|via$|content-length$)/;

export function createShadowRunner({ logger, store, onOutcome }: ShadowRunnerOptions): ShadowRunner {

  const learner = createNoiseLearner();
  const pools = new Map<string, Pool>();
  const comparators = new WeakMap<RouteConfig, Comparator>();
  const warmups = new Map<string, number>();
  const stats: ShadowStats = {
    inFlight: 0,
    highWater: 0,
    started: 0,
    skipped: { 'write-not-copied': 0, concurrency: 0, 'request-body-too-large': 0, 'primary-failed': 0, 'client-aborted': 0 },
    outcomes: { match: 0, mismatch: 0, 'candidate-error': 0, skipped: 0 },
  };
  let idleWaiters: Array<() => void> = [];

  const poolFor = (url: URL, connections: number): Pool => {
    let pool = pools.get(url.origin);
    if (!pool) {
      // copies get their own connections: a hung candidate cannot take the primary's; as many
      // as copies may be in flight, so the bound, not the pool, decides what is skipped
      pool = new Pool(url.origin, { connections, pipelining: 1 });
      pools.set(url.origin, pool);
    }
    return pool;
  };
  const comparatorFor = (route: RouteConfig): Comparator => {
    let comparator = comparators.get(route);
    if (!comparator) {
      comparator = buildComparator(route.compare, learner.optionsFor(route.name));
      comparators.set(route, comparator);
    }
    return comparator;
  };
  const wantsNoise = (route: RouteConfig): boolean => {
    const seen = warmups.get(route.name) ?? 0;
    if (seen < route.shadow.noiseWarmup) {
      warmups.set(route.name, seen + 1);
      return true;
    }
    return Math.random() < route.shadow.noiseSample;
  };
  const noiseTimers = new Set<NodeJS.Timeout>();
  let noiseInFlight = 0;
  let closed = false;
  /**
   * Noise learning, off the comparison's path: legacy is asked the same request again
   * shadow.noiseDelay after its first answer (so clock fields with second resolution show), and
   * whatever differs between its two answers is learned as noise. Comparisons stored before a
   * noise field was learned are counted as matches by the parity report.
   */
  const learnNoise = (route: RouteConfig, call: (upstream: string) => Promise<CopyAnswer>, first: CapturedResponse): void => {
    if (closed || noiseInFlight >= MAX_NOISE_CALLS) return;
    noiseInFlight++;
    const timer = setTimeout(() => {
      noiseTimers.delete(timer);
      call(LEGACY)
        .then(({ response }) => {
          const learned = learner.observe(route.name, first, response);
          if (learned.length > 0) logger.info({ route: route.name, noise: learned }, 'noise learned: legacy answers these differently to the same request');
          // counts change with every observation; the store keeps only the latest per route
          store()?.saveNoise(route.name, learner.report(route.name).entries);
        })
        .catch((err: unknown) => logger.debug({ route: route.name, err }, 'noise call failed'))
        .finally(() => {
          noiseInFlight--;
          finishNoise();
        });
    }, route.shadow.noiseDelayMs);
    noiseTimers.add(timer);
  };
  let noiseWaiters: Array<() => void> = [];
  const finishNoise = () => {
    if (noiseInFlight > 0) return;
    const waiters = noiseWaiters;
    noiseWaiters = [];
    for (const w of waiters) w();
  };

  const storeSkip = (_exchange: Exchange, _redactor: Redactor, route: RouteConfig, reason: SkipReason, detail: string) => {
    stats.skipped[reason]++;
    stats.outcomes.skipped++;
    onOutcome?.(route.name, 'skipped');
    store()?.count(route.name, 'shadow', 'skipped', reason);
    logger.debug({ route: route.name, reason, detail }, 'copy skipped');
  };

  const finish = () => {
    stats.inFlight--;
    if (stats.inFlight === 0) {
      const waiters = idleWaiters;
      idleWaiters = [];
      for (const w of waiters) w();
    }
  };

  return {
    learner,
    stats: () => structuredClone(stats),
    idle: () => (stats.inFlight === 0 ? Promise.resolve() : new Promise((resolve) => idleWaiters.push(resolve))),
    noiseIdle: () => (noiseInFlight === 0 ? Promise.resolve() : new Promise((resolve) => noiseWaiters.push(resolve))),
    plan(exchange, config, redactor, redirects) {
      const route = exchange.route;
      const decision = exchange.decision;
      if (!route || !decision) return;
      const primaryIsLegacy = decision.primary === LEGACY;
      if (route.stage === 'shadow') {
        if (!primaryIsLegacy) return; // a tester forced the service: nothing to compare it with
      } else if (route.stage !== 'canary' || !route.shadow.reverse) return;
      if (route.shadow.sample < 1 && !isSampled(route.shadow.sample, Math.random())) return;

      const method = exchange.req.method ?? 'GET';
      const safe = SAFE_METHODS.has(method);
      let copyTo: string;
      if (!primaryIsLegacy) {
        // canary, service answered: legacy gets the copy, and only of reads
        if (!safe) return storeSkip(exchange, redactor, route, 'write-not-copied', `${method} is never copied to legacy`);
        copyTo = LEGACY;
      } else if (safe) copyTo = route.service;
      else if (route.shadow.writes) copyTo = route.shadow.writes;
      else return storeSkip(exchange, redactor, route, 'write-not-copied', `${method} is copied only to a sandbox (shadow.writes)`);

      if (stats.inFlight >= config.comparisons.maxConcurrent) {
        return storeSkip(exchange, redactor, route, 'concurrency', `${stats.inFlight} copies already in flight (comparisons.maxConcurrent)`);
      }
      const headers = exchange.req.headers;
      const length = Number(headers['content-length'] ?? 0);
      if (length > route.shadow.maxRequestBody) {
        return storeSkip(exchange, redactor, route, 'request-body-too-large', `${length} bytes > shadow.maxRequestBody ${route.shadow.maxRequestBody}`);
      }

      stats.started++;
      stats.inFlight++;
      if (stats.inFlight > stats.highWater) stats.highWater = stats.inFlight;
      const run = new CopyRun(exchange, route, copyTo, config, redirects, { poolFor, comparatorFor, wantsNoise, learnNoise, learner, store: store(), redactor, logger, stats, onOutcome });
      exchange.tap = run;
      run.start().finally(finish);
    },
    async close() {
      closed = true;
      for (const timer of noiseTimers) clearTimeout(timer);
      noiseTimers.clear();
      noiseInFlight = 0;
      finishNoise();
      await Promise.all([...pools.values()].map((pool) => pool.destroy()));
    },
  };
}

interface RunContext {
  poolFor(url: URL, connections: number): Pool;
  comparatorFor(route: RouteConfig): Comparator;
  wantsNoise(route: RouteConfig): boolean;
  learnNoise(route: RouteConfig, call: (upstream: string) => Promise<CopyAnswer>, first: CapturedResponse): void;
  learner: NoiseLearner;
  store: ComparisonStore | null;
  redactor: Redactor;
  logger: Logger;
  stats: ShadowStats;
  onOutcome?: (route: string, outcome: ComparisonOutcome) => void;
}

/** One copied request: the primary's captured answer, the copy's answer, maybe a noise call. */
class CopyRun implements PrimaryTap {
  private readonly at = new Date().toISOString();
  private readonly started = performance.now();
  private readonly method: string;
  private readonly url: string;
  private readonly headers: Record<string, string | string[]>;
  private readonly requestCapture: BodyCapture | null;
  private readonly primaryCapture: BodyCapture;
  private primary: { status: number; headers: CapturedResponse['headers'] } | undefined;
  private primaryMs = 0;
  private settlePrimary!: (outcome: { ok: true } | { ok: false; err: unknown }) => void;
  private readonly primaryDone = new Promise<{ ok: true } | { ok: false; err: unknown }>((resolve) => (this.settlePrimary = resolve));
  private settleBody!: (body: Buffer | null | Error) => void;
  private readonly bodyDone = new Promise<Buffer | null | Error>((resolve) => (this.settleBody = resolve));

  constructor(
    private readonly exchange: Exchange,
    private readonly route: RouteConfig,
    private readonly copyTo: string,
    private readonly config: Config,
    private readonly redirects: RedirectRewrites,
    private readonly ctx: RunContext,
  ) {
    const req = exchange.req;
    this.method = req.method ?? 'GET';
    this.url = req.url ?? '/';
    // the copy's own headers: the forwarder rewrites the primary's in place
    const headers: Record<string, string | string[]> = {};
    for (const [name, value] of Object.entries(req.headers)) if (value !== undefined) headers[name] = value;
    stripHopByHop(headers);
    headers[COPY_HEADER] = '1';
    headers[REQUEST_ID_HEADER] = exchange.id;
    this.headers = headers;
    this.primaryCapture = new BodyCapture(config.comparisons.captureLimit);

    const hasBody = req.headers['transfer-encoding'] !== undefined || (req.headers['content-length'] !== undefined && req.headers['content-length'] !== '0');
    if (!hasBody) {
      this.requestCapture = null;
      this.settleBody(null);
    } else {
      this.requestCapture = new BodyCapture(route.shadow.maxRequestBody);
    }
  }

  requestBody(req: Readable): Readable {
    // the primary's body passes through here, at the primary's pace, and is kept up to the cap
    const capture = this.requestCapture!;
    const tee = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        capture.add(chunk);
        callback(null, chunk);
      },
    });
    pipeline(req, tee, (err) => {
      if (err) this.settleBody(new Error('client aborted the request'));
      else this.settleBody(capture.truncated ? new Error('request body too large') : capture.toBuffer());
    });
    return tee;
  }

  head(status: number, headers: CapturedResponse['headers']): void {
    this.primary = { status, headers: { ...headers } };
  }

  chunk(chunk: Buffer): void {
    this.primaryCapture.add(chunk);
  }

  end(): void {
    this.primaryMs = performance.now() - this.started;
    this.settlePrimary({ ok: true });
  }

  fail(err: unknown) {
    this.settlePrimary({ ok: false, err });
  }

  async start(): Promise<void> {
    try {
      const body = await this.bodyDone;
      if (body instanceof Error) {
        await this.primaryDone;
        const reason = body.message === 'request body too large' ? 'request-body-too-large' : 'client-aborted';
        return this.storeSkipped(reason, body.message);
      }
      const { config, route, ctx } = this;
      const call = async (upstream: string): Promise<CopyAnswer> => {
        const target = upstream === LEGACY ? config.legacy : config.services[upstream];
        const answer = await callUpstream(ctx.poolFor(target, config.comparisons.maxConcurrent), {
          method: this.method,
          path: this.url,
          headers: this.headers,
          body,
          timeoutMs: route.shadow.timeoutMs,
          captureLimit: config.comparisons.captureLimit,
        });
        this.rewriteRedirects(upstream, answer.response.headers);
        return answer;
      };
      const copy = call(this.copyTo);
      const [primary, copied] = await Promise.all([this.primaryDone, settle(copy)]);
      // comparison is CPU work: never in the same tick as the I/O that delivered the last answer
      await new Promise((resolve) => setImmediate(resolve));
      if (!primary.ok || !this.primary) return this.storeSkipped('primary-failed', describe(primary.ok ? 'no response' : primary.err));
      const legacy = await this.compare(copied);
      if (legacy && SAFE_METHODS.has(this.method) && ctx.wantsNoise(route)) ctx.learnNoise(route, call, legacy);
    } catch (err) {
      logRunFailure(this.ctx.logger, err, this.route.name);
    }
  }

  /**
   * A copy's redirects are rewritten as the primary's were on their way to the client (forwarder.ts),
   * each from its own upstream's origin: legacy's http://127.0.0.1:8000/x/ and the service's
   * http://127.0.0.1:3101/x/ both become the client's origin, and compare equal.
   */
  private rewriteRedirects(upstream: string, headers: CapturedResponse['headers']): void {
    rewriteRedirectHeaders(headers, this.redirects.get(upstream), this.exchange.req);
  }

  /** compares and stores; returns legacy's answer (for noise learning) when there is one */
  private async compare(copied: Settled<CopyAnswer>): Promise<CapturedResponse | undefined> {
    const { route, ctx } = this;
    // written out, not { ...this.primary, body, truncated }: on Node 20 a spread followed by more
    // properties allocates in old space, and one per comparison meant a full GC every few seconds
    const captured: CapturedResponse = { status: this.primary!.status, headers: this.primary!.headers, body: this.primaryCapture.toBuffer(), truncated: this.primaryCapture.truncated };
    // the client got the coded bytes; the comparison reads them as the client's browser would
    const primary = await decodeResponse(captured, this.config.comparisons.captureLimit);
    const legacyIsPrimary = this.copyTo !== LEGACY;
    const legacy = legacyIsPrimary ? primary : copied.ok ? copied.value.response : undefined;
    const service = legacyIsPrimary ? (copied.ok ? copied.value.response : undefined) : primary;

    let result: ComparisonResult;
    if (!copied.ok) result = compareCandidateError(copied.error);
    else result = ctx.comparatorFor(route)(legacy!, service!);
    ctx.stats.outcomes[result.outcome]++;
    ctx.onOutcome?.(route.name, result.outcome);
    if (result.outcome !== 'match') {
      ctx.logger.debug({ route: route.name, outcome: result.outcome, paths: result.differences.map((d) => d.path).slice(0, 5) }, 'comparison');
    }
    const copyMs = copied.ok ? copied.value.ms : undefined;
    this.store(result, legacy, service, legacyIsPrimary ? this.primaryMs : copyMs, legacyIsPrimary ? copyMs : this.primaryMs);
    return legacy;
  }

  private storeSkipped(reason: SkipReason, detail: string): void {
    this.ctx.stats.skipped[reason]++;
    this.ctx.stats.outcomes.skipped++;
    this.ctx.onOutcome?.(this.route.name, 'skipped');
    this.ctx.store?.count(this.route.name, 'shadow', 'skipped', reason);
    this.ctx.logger.debug({ route: this.route.name, reason, detail }, 'copy skipped');
  }

  private store(result: ComparisonResult, legacy?: CapturedResponse, service?: CapturedResponse, legacyMs?: number, serviceMs?: number): void {
    const { ctx, route, config } = this;
    if (!ctx.store) return;
    if (result.outcome === 'match' && !ctx.store.matchExampleDue(route.name)) return ctx.store.count(route.name, 'shadow', 'match');
    const r = ctx.redactor;
    const limit = config.comparisons.storedBodyLimit;
    const stored = (response: CapturedResponse): StoredResponse => storeResponse(response, r, limit);
    const requestHeaders = r.headers(this.headers);
    delete requestHeaders[COPY_HEADER];
    for (const name of Object.keys(requestHeaders)) if (UNSTORED_REQUEST_HEADERS.test(name)) delete requestHeaders[name];
    const record: ComparisonRecord = {
      at: this.at,
      route: route.name,
      source: 'shadow',
      outcome: result.outcome,
      primary: this.exchange.decision?.primary ?? LEGACY,
      service: route.service,
      request: { method: this.method, url: r.url(this.url), headers: requestHeaders },
      differences: result.differences.map((d) => ({
        ...d,
        ...('primary' in d ? { primary: r.value(d.path, d.primary) } : {}),
        ...('candidate' in d ? { candidate: r.value(d.path, d.candidate) } : {}),
      })),
      noise: result.noise,
    };
    const requestBody = this.requestCapture?.toBuffer();
    if (requestBody && requestBody.length > 0) {
      const body = r.body(requestBody, contentTypeOf(this.headers), limit);
      record.request.body = body.body;
      record.request.bodyEncoding = body.bodyEncoding;
    }
    if (result.reason) record.reason = result.reason;
    if (legacy) record.legacy = stored(legacy);
    if (service) record.serviceResponse = stored(service);
    if (legacyMs !== undefined) record.legacyMs = Math.round(legacyMs * 10) / 10;
    if (serviceMs !== undefined) record.serviceMs = Math.round(serviceMs * 10) / 10;
    ctx.store.add(record);
  }
}

type Settled<T> = { ok: true; value: T } | { ok: false; error: unknown };

function settle<T>(promise: Promise<T>): Promise<Settled<T>> {
  return promise.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );
}

function contentTypeOf(headers: Record<string, string | string[] | undefined>): string | undefined {
  const v = headers['content-type'];
  return Array.isArray(v) ? v[0] : v;
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function logRunFailure(logger: Logger, err: unknown, route: string): void {
  logger.error({ err, route }, 'parallel run failed unexpectedly; the client was not affected');
}
