import type { RouteConfig, RouteStage } from '../config/schema.ts';
import { LEGACY } from '../pipeline/exchange.ts';
import { buildRouteTable, type RouteTable } from '../routing/route-table.ts';
import { collapsePath } from './collapse-path.ts';
import type { AccessRecord, MalformedLine } from './read-access-log.ts';

/**
 * What is left to strangle: every endpoint the logs show (method + path with ids collapsed),
 * how much traffic it has, how it fares, which route of routes.yaml covers it, and which
 * cutover routes no longer need their PHP code.
 *
 * Strangled share = strangled requests / all requests, where a request is strangled when
 *  - proxy log: a service answered it (target is neither legacy nor absent);
 *  - nginx/Apache log: a route in stage cutover covers it now. Such a log sits in front of the
 *    monolith and never says who answered, so the share is what routes.yaml sends to services
 *    today, measured on the traffic the monolith used to get.
 *
 * Idle legacy route: a route in stage cutover whose requests last reached legacy (proxy log:
 * target legacy, e.g. a breaker fallback or a forced request; nginx/Apache log: every line)
 * `idleDays` or more before the end of the logs, or never within logs spanning that long.
 * Time is the logs' own, never the clock of the machine reading them.
 */

export interface EndpointStats {
  method: string;
  /** path with ids collapsed, e.g. /api/rooms/:id */
  pattern: string;
  requests: number;
  /** share of 5xx answers, 0..1 */
  errorRate: number;
  /** null when no line of this endpoint carried a latency */
  p50Ms: number | null;
  p99Ms: number | null;
  /** the routes.yaml route that covers most of this endpoint's requests */
  route?: { name: string; stage: RouteStage };
  /** requests covered by `route` (less than requests when the route covers the pattern in part) */
  coveredRequests: number;
  /** requests per upstream that answered: 'legacy', a service, or '(proxy)' when the proxy answered itself */
  servedBy: Record<string, number>;
}

export interface IdleLegacyRoute {
  route: string;
  stage: RouteStage;
  /** ISO time of the last request of this route that reached legacy; absent: none in the logs */
  lastLegacyAt?: string;
  /** requests of this route in the logs */
  requests: number;
}

export interface Inventory {
  /** by requests, most first */
  endpoints: EndpointStats[];
  total: number;
  strangled: number;
  /** strangled / total, 0..1 (0 without requests) */
  strangledShare: number;
  /** first and last time in the logs, ISO; null without requests */
  span: { from: string; to: string } | null;
  idleDays: number;
  idleLegacyRoutes: IdleLegacyRoute[];
  malformed: { count: number; examples: MalformedLine[] };
}

export interface InventoryOptions {
  routes: readonly RouteConfig[];
  idleDays: number;
  /** latencies kept per endpoint for percentiles; exact below this many requests */
  sampleSize?: number;
  /** for the latency sample; tests pass a seeded one */
  random?: () => number;
}

export interface InventoryBuilder {
  add(record: AccessRecord): void;
  build(malformed?: Inventory['malformed']): Inventory;
}

const DEFAULT_SAMPLE_SIZE = 1000;
const DAY_MS = 86_400_000;
/** servedBy key for requests the proxy answered without an upstream (load shed, bad target) */
export const ANSWERED_BY_PROXY = '(proxy)';

interface EndpointState {
  method: string;
  pattern: string;
  requests: number;
  errors: number;
  /** latencies seen, for the reservoir */
  timed: number;
  sample: number[];
  routes: Map<RouteConfig, number>;
  servedBy: Map<string, number>;
}

interface RouteState {
  requests: number;
  lastLegacyAt: number | undefined;
}

export function buildInventory(records: Iterable<AccessRecord>, options: InventoryOptions, malformed?: Inventory['malformed']): Inventory {
  const builder = createInventoryBuilder(options);
  for (const record of records) builder.add(record);
  return builder.build(malformed);
}

export function createInventoryBuilder(options: InventoryOptions): InventoryBuilder {
  const table: RouteTable = buildRouteTable(options.routes);
  const sampleSize = options.sampleSize ?? DEFAULT_SAMPLE_SIZE;
  const random = options.random ?? Math.random;
  const endpoints = new Map<string, EndpointState>();
  const routeStates = new Map<RouteConfig, RouteState>(options.routes.map((r) => [r, { requests: 0, lastLegacyAt: undefined }]));
  let total = 0;
  let strangled = 0;
  let from = Infinity;
  let to = -Infinity;

  return {
    add(record) {
      total++;
      if (record.at < from) from = record.at;
      if (record.at > to) to = record.at;
      // matched on the concrete path: /api/rooms/:id in routes.yaml must cover /api/rooms/42,
      // and a route may well match only some of the paths a collapsed pattern stands for
      const found = table.match(record.method, record.path);
      const route = found && typeof found === 'object' ? found.route : undefined;
      const upstream = record.source === 'proxy' ? (record.target ?? ANSWERED_BY_PROXY) : LEGACY;
      const isStrangled = record.source === 'proxy' ? upstream !== LEGACY && upstream !== ANSWERED_BY_PROXY : route?.stage === 'cutover';
      if (isStrangled) strangled++;

      const pattern = collapsePath(record.path);
      const key = `${record.method} ${pattern}`;
      let e = endpoints.get(key);
      if (!e) {
        e = { method: record.method, pattern, requests: 0, errors: 0, timed: 0, sample: [], routes: new Map(), servedBy: new Map() };
        endpoints.set(key, e);
      }
      e.requests++;
      if (record.status >= 500 && record.status <= 599) e.errors++;
      if (record.ms !== undefined) {
        e.timed++;
        // reservoir sampling (Vitter's algorithm R): every latency has the same chance to be kept
        if (e.sample.length < sampleSize) e.sample.push(record.ms);
        else {
          const slot = Math.floor(random() * e.timed);
          if (slot < sampleSize) e.sample[slot] = record.ms;
        }
      }
      e.servedBy.set(upstream, (e.servedBy.get(upstream) ?? 0) + 1);
      if (route) {
        e.routes.set(route, (e.routes.get(route) ?? 0) + 1);
        const r = routeStates.get(route)!;
        r.requests++;
        if (upstream === LEGACY && (r.lastLegacyAt === undefined || record.at > r.lastLegacyAt)) r.lastLegacyAt = record.at;
      }
    },

    build(malformed = { count: 0, examples: [] }) {
      const list = [...endpoints.values()].map(toEndpointStats);
      list.sort((a, b) => b.requests - a.requests || a.pattern.localeCompare(b.pattern) || a.method.localeCompare(b.method));
      const idleMs = options.idleDays * DAY_MS;
      const idleLegacyRoutes: IdleLegacyRoute[] = [];
      if (total > 0) {
        for (const [route, r] of routeStates) {
          if (route.stage !== 'cutover') continue;
          const idle = r.lastLegacyAt === undefined ? to - from >= idleMs : to - r.lastLegacyAt >= idleMs;
          if (!idle) continue;
          idleLegacyRoutes.push({
            route: route.name,
            stage: route.stage,
            ...(r.lastLegacyAt === undefined ? {} : { lastLegacyAt: new Date(r.lastLegacyAt).toISOString() }),
            requests: r.requests,
          });
        }
        idleLegacyRoutes.sort((a, b) => a.route.localeCompare(b.route));
      }
      return {
        endpoints: list,
        total,
        strangled,
        strangledShare: total === 0 ? 0 : strangled / total,
        span: total === 0 ? null : { from: new Date(from).toISOString(), to: new Date(to).toISOString() },
        idleDays: options.idleDays,
        idleLegacyRoutes,
        malformed,
      };
    },
  };
}

function toEndpointStats(e: EndpointState): EndpointStats {
  const sorted = [...e.sample].sort((a, b) => a - b);
  let route: RouteConfig | undefined;
  let covered = 0;
  for (const [r, n] of e.routes) {
    if (n > covered) {
      route = r;
      covered = n;
    }
  }
  return {
    method: e.method,
    pattern: e.pattern,
    requests: e.requests,
    errorRate: e.errors / e.requests,
    p50Ms: percentile(sorted, 0.5),
    p99Ms: percentile(sorted, 0.99),
    ...(route ? { route: { name: route.name, stage: route.stage } } : {}),
    coveredRequests: covered,
    servedBy: Object.fromEntries(e.servedBy),
  };
}

/** Nearest rank: the smallest value with at least p of the sample at or below it. */
export function percentile(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)];
}
