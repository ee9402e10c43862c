import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import type { Config, RouteConfig } from '../config/schema.ts';
import type { Exchange } from '../pipeline/exchange.ts';

/**
 * Load shedding for bursts: a request over a limit is answered 503 + Retry-After at once, so the
 * requests already admitted keep their latency and the proxy stays responsive. Limits: requests
 * in flight through the proxy (limits.maxConcurrent), per route in flight and per second
 * (route limit:), and the event loop's delay (limits.maxEventLoopDelay) as the sign of a proxy
 * that is itself overloaded.
 */
export interface LoadShedder {
  /** null: admitted (and counted until release); else why it is shed */
  admit(exchange: Exchange, config: Config): ShedReason | null;
  /** the admitted request's response closed (the server's one close listener calls it) */
  release(exchange: Exchange): void;
  /** an upgraded connection counts as a request in flight while it is open, and against limits.maxWebSockets */
  admitUpgrade(config: Config): ShedReason | null;
  releaseUpgrade(): void;
  readonly stats: { inFlight: number; upgrades: number; shed: Record<ShedKind, number>; eventLoopDelayMs: number };
  close(): void;
}

export type ShedKind = 'global-concurrency' | 'global-rate' | 'route-concurrency' | 'route-rate' | 'event-loop' | 'websockets';

export interface ShedReason {
  kind: ShedKind;
  /** a route name or "global" */
  scope: string;
  detail: string;
}

/** How often the event loop's delay is sampled and judged. */
const LOOP_WINDOW_MS = 500;

/** Token bucket: refilled at the rate, holding at most one second of it; true when a token was taken. */
function take(bucket: { tokens: number; refilledAt: number }, ratePerS: number): boolean {
  const now = performance.now();
  bucket.tokens = bucket.tokens < 0 ? ratePerS : Math.min(ratePerS, bucket.tokens + ((now - bucket.refilledAt) / 1000) * ratePerS);
  bucket.refilledAt = now;
  if (bucket.tokens < 1) return false;
  bucket.tokens -= 1;
  return true;
}

interface RouteLoad {
  inFlight: number;
  tokens: number;
  refilledAt: number;
}

export function createLoadShedder(): LoadShedder {
  const stats = { inFlight: 0, upgrades: 0, shed: { 'global-concurrency': 0, 'global-rate': 0, 'route-concurrency': 0, 'route-rate': 0, 'event-loop': 0, websockets: 0 }, eventLoopDelayMs: 0 };
  const global = { tokens: -1, refilledAt: 0 };
  const routes = new Map<string, RouteLoad>();
  let loop: IntervalHistogram | undefined;
  let loopTimer: NodeJS.Timeout | undefined;
  let lagging = false;

  const watchLoop = () => {
    if (loop) return;
    loop = monitorEventLoopDelay({ resolution: 10 });
    loop.enable();
    loopTimer = setInterval(() => {
      stats.eventLoopDelayMs = loop!.percentile(99) / 1e6;
      loop!.reset();
    }, LOOP_WINDOW_MS);
    loopTimer.unref();
  };

  const loadOf = (route: RouteConfig): RouteLoad => {
    let load = routes.get(route.name);
    if (!load) routes.set(route.name, (load = { inFlight: 0, tokens: route.limit.ratePerS, refilledAt: performance.now() }));
    return load;
  };

  const shed = (kind: ShedKind, scope: string, detail: string): ShedReason => {
    stats.shed[kind]++;
    return { kind, scope, detail };
  };

  return {
    stats,
    admit(exchange, config) {
      const { limits } = config;
      if (limits.maxEventLoopDelayMs > 0) {
        watchLoop();
        lagging = stats.eventLoopDelayMs > limits.maxEventLoopDelayMs;
        if (lagging) return shed('event-loop', 'global', `the proxy's event loop lags ${stats.eventLoopDelayMs.toFixed(0)} ms (limits.maxEventLoopDelay ${limits.maxEventLoopDelayMs} ms)`);
      }
      if (stats.inFlight >= limits.maxConcurrent) return shed('global-concurrency', 'global', `${stats.inFlight} requests in flight (limits.maxConcurrent)`);
      if (limits.ratePerS > 0 && !take(global, limits.ratePerS)) return shed('global-rate', 'global', `over limits.rate of ${limits.ratePerS}/s`);
      const route = exchange.route;
      let load: RouteLoad | undefined;
      if (route && (route.limit.concurrent > 0 || route.limit.ratePerS > 0)) {
        load = loadOf(route);
        if (route.limit.concurrent > 0 && load.inFlight >= route.limit.concurrent) {
          return shed('route-concurrency', route.name, `${load.inFlight} requests of route ${route.name} in flight (its limit.concurrent)`);
        }
        if (route.limit.ratePerS > 0 && !take(load, route.limit.ratePerS)) {
          return shed('route-rate', route.name, `route ${route.name} is over its limit.rate of ${route.limit.ratePerS}/s`);
        }
        load.inFlight++;
      }
      stats.inFlight++;
      // one listener per request is the server's: it calls release()
      exchange.admitted = load ?? true;
      return null;
    },
    admitUpgrade({ limits }) {
      if (stats.inFlight >= limits.maxConcurrent) return shed('global-concurrency', 'global', `${stats.inFlight} requests and upgraded connections in flight (limits.maxConcurrent)`);
      if (stats.upgrades >= limits.maxWebSockets) return shed('websockets', 'global', `${stats.upgrades} upgraded connections open (limits.maxWebSockets)`);
      stats.inFlight++;
      stats.upgrades++;
      return null;
    },
    releaseUpgrade() {
      stats.inFlight--;
      stats.upgrades--;
    },
    release(exchange) {
      const admitted = exchange.admitted;
      if (!admitted) return;
      exchange.admitted = undefined;
      stats.inFlight--;
      if (admitted !== true) (admitted as RouteLoad).inFlight--;
    },
    close() {
      if (loopTimer) clearInterval(loopTimer);
      loop?.disable();
    },
  };
}
