import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import type { ComparisonOutcome } from '../comparison/types.ts';
import type { FallbackCause, UpstreamFailureKind } from '../forward/upstream-error.ts';
import { createTrafficTable, type TrafficCounts } from './traffic-table.ts';

/**
 * The proxy's Prometheus metrics, in a registry of their own (never prom-client's global one,
 * so tests and several proxies in one process do not share series).
 *
 * Label cardinality is bounded by construction: labels only ever take route names, upstream
 * names, status classes and fixed words (failure kinds, comparison outcomes, breaker states),
 * never raw paths, methods or ids. A caller that passes something unbounded as a route anyway
 * is capped at MAX_ROUTE_LABELS distinct values; past that its series are counted under
 * "(other)", so a bug costs precision, not the Prometheus server.
 *
 * recordRequest runs on every request: two Map lookups to the route's and target's counts, then
 * plain arithmetic (traffic-table.ts); prom-client sees those counts only when scraped. The
 * other metrics are rarer (failures, comparisons, sheds, gauges) and are prom-client's own.
 */
export interface ProxyMetrics {
  /** the Content-Type header to send with render() */
  readonly contentType: string;
  /** route null: no route matched; target: the primary upstream that answered */
  recordRequest(route: string | null, target: string, status: number, seconds: number): void;
  /** kind: an UpstreamFailureKind; anything else is counted as "other" */
  recordUpstreamFailure(route: string | null, target: string, kind: UpstreamFailureKind | string): void;
  /**
   * A safe request the service failed and legacy answered (the client saw no error).
   * cause: "5xx" when the service answered one, else how the transport failed.
   */
  recordFallback(route: string | null, service: string, cause: FallbackCause): void;
  recordComparison(route: string, outcome: ComparisonOutcome): void;
  /** scope: a route name or "global"; reason: a fixed word, never free text */
  recordShed(scope: string, reason: string): void;
  /** a client's request or connection refused by a limit or a check; reason: a fixed word (REJECT_REASONS) */
  recordRejected(reason: RejectReason): void;
  setShare(route: string, percent: number): void;
  setRolloutStep(route: string, step: number): void;
  setBreakerState(service: string, state: BreakerState): void;
  setControlPlane(degraded: boolean): void;
  /** drops every series labelled with this route (the route left the config) */
  forgetRoute(route: string): void;
  /** the text exposition format */
  render(): Promise<string>;
}

export interface ProxyMetricsOptions {
  /** process_* and nodejs_* metrics from prom-client; default true */
  collectProcess?: boolean;
  /** what the proxy's metric names start with; default "strangler_". Process metrics keep their standard names. */
  prefix?: string;
}

export type BreakerState = 'closed' | 'open' | 'half-open';

/** Why the proxy refused a client itself (Reliability and security in the README lists them). */
export const REJECT_REASONS = [
  'bad-target',
  'target-too-long',
  'duplicate-host',
  'header-timeout',
  'body-timeout',
  'body-too-large',
  'send-timeout',
  'malformed',
  'header-too-large',
  'connection-limit',
  'websocket-limit',
  'websocket-idle',
  'websocket-body',
  'upstream-busy',
] as const;
export type RejectReason = (typeof REJECT_REASONS)[number];

export const UNMATCHED_ROUTE = '(unmatched)';
export const OTHER_ROUTE = '(other)';
export const MAX_ROUTE_LABELS = 1000;

const DEFAULT_PREFIX = 'strangler_';
/** From a cache hit to an upstream timeout: a proxy hop is mostly milliseconds. */
const DURATION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** Indexed by Math.floor(status / 100); "other" for what HTTP does not define. */
const STATUS_CLASSES = ['other', '1xx', '2xx', '3xx', '4xx', '5xx'] as const;
/** A Record so a new UpstreamFailureKind does not compile until it is listed here. */
const FAILURE_KINDS: Record<UpstreamFailureKind, true> = { timeout: true, refused: true, reset: true, dns: true, other: true };
const BREAKER_VALUES: Record<BreakerState, number> = { closed: 0, 'half-open': 0.5, open: 1 };

/** Everything labelled with one route value, and how to remove it again. */
interface RouteSeries {
  label: string;
  /** target → the per-request counts */
  traffic: Map<string, TrafficCounts>;
  /** key: target + "\n" + kind, or outcome, or reason: the cold paths share one map */
  others: Map<string, Counter.Internal | Gauge.Internal<string>>;
  removals: (() => void)[];
}

export function createProxyMetrics(options: ProxyMetricsOptions = {}): ProxyMetrics {
  const prefix = options.prefix ?? DEFAULT_PREFIX;
  assertPrefix(prefix);
  const register = new Registry();
  const registers = [register];

  const traffic = createTrafficTable({ prefix, registry: register, buckets: DURATION_BUCKETS, statusClasses: STATUS_CLASSES });
  const upstreamErrors = new Counter({
    name: `${prefix}upstream_errors_total`,
    help: 'Upstreams that gave no answer, by route, upstream and kind of failure.',
    labelNames: ['route', 'target', 'kind'],
    registers,
  });
  const fallbacks = new Counter({
    name: `${prefix}fallbacks_total`,
    help: 'Safe requests a service failed and legacy answered instead, by route, service and cause (5xx or the transport failure).',
    labelNames: ['route', 'target', 'cause'],
    registers,
  });
  const comparisons = new Counter({ name: `${prefix}shadow_comparisons_total`, help: 'Shadow comparisons, by route and outcome.', labelNames: ['route', 'outcome'], registers });
  const shed = new Counter({ name: `${prefix}shed_total`, help: 'Requests refused to protect an upstream, by scope (route or global) and reason.', labelNames: ['scope', 'reason'], registers });
  const rejected = new Counter({ name: `${prefix}rejected_total`, help: 'Client requests and connections the proxy refused itself, by reason (a limit, a timeout or a malformed request).', labelNames: ['reason'], registers });
  for (const reason of REJECT_REASONS) rejected.labels(reason);
  const share = new Gauge({ name: `${prefix}route_share_percent`, help: 'Share of a route’s traffic answered by its service, in percent.', labelNames: ['route'], registers });
  const rolloutStep = new Gauge({ name: `${prefix}rollout_step`, help: 'Current step of a route’s rollout plan.', labelNames: ['route'], registers });
  const breakerOpen = new Gauge({ name: `${prefix}breaker_open`, help: 'Circuit breaker per service: 1 open, 0.5 half-open, 0 closed.', labelNames: ['service'], registers });
  const controlPlaneDegraded = new Gauge({ name: `${prefix}control_plane_degraded`, help: '1 while the flag source is unreachable and last known flags are used.', registers });

  if (options.collectProcess ?? true) collectDefaultMetrics({ register });

  const createSeries = (label: string): RouteSeries => ({ label, traffic: new Map(), others: new Map(), removals: [] });
  const routes = new Map<string, RouteSeries>();
  const unmatched = createSeries(UNMATCHED_ROUTE);
  const other = createSeries(OTHER_ROUTE);

  /** The caller's route, or "(other)" once MAX_ROUTE_LABELS routes have series; overflow is not remembered, so it cannot grow memory either. */
  function seriesOf(route: string): RouteSeries {
    let series = routes.get(route);
    if (series === undefined) {
      if (routes.size >= MAX_ROUTE_LABELS) return other;
      series = createSeries(route);
      routes.set(route, series);
    }
    return series;
  }

  /** A labelled child, remembered with its removal so forgetRoute can drop the series. */
  function labelled<T>(series: RouteSeries, metric: { labels(...values: string[]): T; remove(...values: string[]): void }, values: string[]): T {
    series.removals.push(() => metric.remove(...values));
    return metric.labels(...values);
  }

  function createTraffic(series: RouteSeries, target: string): TrafficCounts {
    const counts = traffic.create(series.label, target);
    series.traffic.set(target, counts);
    return counts;
  }

  function counterOf(series: RouteSeries, key: string, metric: Counter<string>, values: string[]): Counter.Internal {
    let child = series.others.get(key) as Counter.Internal | undefined;
    if (child === undefined) {
      child = labelled(series, metric, values);
      series.others.set(key, child);
    }
    return child;
  }

  function gaugeOf(series: RouteSeries, key: string, metric: Gauge<string>): Gauge.Internal<string> {
    let child = series.others.get(key) as Gauge.Internal<string> | undefined;
    if (child === undefined) {
      child = labelled(series, metric, [series.label]);
      series.others.set(key, child);
    }
    return child;
  }

  return {
    contentType: register.contentType,

    recordRequest(route, target, status, seconds) {
      const series = route === null ? unmatched : seriesOf(route);
      const counts = series.traffic.get(target) ?? createTraffic(series, target);
      counts.record(status >= 100 && status < 600 ? (status / 100) | 0 : 0, seconds);
    },

    recordUpstreamFailure(route, target, kind) {
      const series = route === null ? unmatched : seriesOf(route);
      const known = Object.hasOwn(FAILURE_KINDS, kind) ? kind : 'other';
      counterOf(series, `failure\n${target}\n${known}`, upstreamErrors, [series.label, target, known]).inc();
    },

    recordFallback(route, service, cause) {
      const series = route === null ? unmatched : seriesOf(route);
      const known = cause === '5xx' || Object.hasOwn(FAILURE_KINDS, cause) ? cause : 'other';
      counterOf(series, `fallback\n${service}\n${known}`, fallbacks, [series.label, service, known]).inc();
    },

    recordComparison(route, outcome) {
      const series = seriesOf(route);
      counterOf(series, `comparison\n${outcome}`, comparisons, [series.label, outcome]).inc();
    },

    recordShed(scope, reason) {
      const series = seriesOf(scope);
      counterOf(series, `shed\n${reason}`, shed, [series.label, reason]).inc();
    },

    recordRejected(reason) {
      rejected.labels(reason).inc();
    },

    setShare(route, percent) {
      gaugeOf(seriesOf(route), 'share', share).set(percent);
    },

    setRolloutStep(route, step) {
      gaugeOf(seriesOf(route), 'rollout-step', rolloutStep).set(step);
    },

    setBreakerState(service, state) {
      breakerOpen.set({ service }, BREAKER_VALUES[state]);
    },

    setControlPlane(degraded) {
      controlPlaneDegraded.set(degraded ? 1 : 0);
    },

    forgetRoute(route) {
      const series = routes.get(route);
      if (series === undefined) return;
      for (const remove of series.removals) remove();
      traffic.forget(series.label);
      routes.delete(route);
    },

    render: () => register.metrics(),
  };
}

function assertPrefix(prefix: string): void {
  if (!/^([a-zA-Z_:][a-zA-Z0-9_:]*)?$/.test(prefix)) {
    throw new TypeError(`metrics prefix ${JSON.stringify(prefix)} is not a valid Prometheus name start: use letters, digits, _ and :, not starting with a digit`);
  }
}
