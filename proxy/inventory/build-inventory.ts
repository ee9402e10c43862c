import type { RouteConfig, RouteStage } from '../config/schema.ts';
import { LEGACY } from '../pipeline/exchange.ts';
import { buildRouteTable, type RouteTable } from '../routing/route-table.ts';
import { assetPattern, collapsePath } from './collapse-path.ts';
import { classifyValue, MAX_PARAM_NAMES, MAX_PARAMS_TRACKED, MAX_PATH_VALUES, MAX_WORD_VALUES, pickRoutingParam, queryParams, type ValueKind } from './query-routing.ts';
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
 *
 * Static files are one row per top folder and extension (GET /wp-content/**\/*.css), or left
 * out (`assets: 'omit'`, counted in assetsOmitted, not in total). A query-routed endpoint
 * (/?rest_route=/wp/v2/categories) is one row per value of its routing parameter (see
 * query-routing.ts), plus one for its requests without that parameter.
 */

export interface EndpointStats {
  method: string;
  /**
   * path with ids collapsed, e.g. /api/rooms/:id; a static-file group, e.g. /wp-content/**\/*.css;
   * a query-routed page with its routing parameter, e.g. /?rest_route=/wp/v2/posts/:id
   */
  pattern: string;
  /** set on static-file groups */
  asset?: true;
  /** the routing parameter of a query-routed row (rest_route) */
  queryParam?: string;
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
  /** static-file requests left out (assets: 'omit'); 0 when they are grouped */
  assetsOmitted: number;
}

export interface InventoryOptions {
  routes: readonly RouteConfig[];
  idleDays: number;
  /** static files: one row per top folder and extension (default), or left out */
  assets?: 'group' | 'omit';
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

/** The counts of one row. */
interface Bucket {
  requests: number;
  errors: number;
  /** latencies seen, for the reservoir */
  timed: number;
  sample: number[];
  routes: Map<RouteConfig, number>;
  servedBy: Map<string, number>;
}

/** A query parameter an endpoint's requests carry, counted per value while it may route. */
interface ParamState {
  kind: ValueKind | undefined;
  /** it cannot route (a value neither path nor word, or too many values): no longer counted */
  dropped: boolean;
  carried: number;
  values: Map<string, Bucket>;
  /** the endpoint's requests without this parameter */
  absent: Bucket;
}

interface EndpointState {
  method: string;
  pattern: string;
  asset: boolean;
  all: Bucket;
  params: Map<string, ParamState>;
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
  let assetsOmitted = 0;
  let from = Infinity;
  let to = -Infinity;

  return {
    add(record) {
      const asset = assetPattern(record.path);
      if (asset !== undefined && options.assets === 'omit') {
        assetsOmitted++;
        return;
      }
      total++;
      if (record.at < from) from = record.at;
      if (record.at > to) to = record.at;
      // matched on the concrete target: /api/rooms/:id in routes.yaml must cover /api/rooms/42,
      // and a route may well match only some of the paths a collapsed pattern stands for
      const found = table.match(record.method, record.query === undefined ? record.path : `${record.path}?${record.query}`);
      const route = found && typeof found === 'object' ? found.route : undefined;
      const upstream = record.source === 'proxy' ? (record.target ?? ANSWERED_BY_PROXY) : LEGACY;
      const isStrangled = record.source === 'proxy' ? upstream !== LEGACY && upstream !== ANSWERED_BY_PROXY : route?.stage === 'cutover';
      if (isStrangled) strangled++;

      const pattern = asset ?? collapsePath(record.path);
      const key = `${record.method} ${pattern}`;
      let e = endpoints.get(key);
      if (!e) {
        e = { method: record.method, pattern, asset: asset !== undefined, all: newBucket(), params: new Map() };
        endpoints.set(key, e);
      }
      const count = (bucket: Bucket) => addToBucket(bucket, record, upstream, route, sampleSize, random);
      // the parameters first: one seen for the first time starts from a copy of the earlier requests
      if (!e.asset) countParams(e, record.query === undefined ? new Map() : queryParams(record.query), count);
      count(e.all);
      if (route) {
        const r = routeStates.get(route)!;
        r.requests++;
        if (upstream === LEGACY && (r.lastLegacyAt === undefined || record.at > r.lastLegacyAt)) r.lastLegacyAt = record.at;
      }
    },

    build(malformed = { count: 0, examples: [] }) {
      const list = [...endpoints.values()].flatMap(toEndpointRows);
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
        assetsOmitted,
      };
    },
  };
}

function newBucket(): Bucket {
  return { requests: 0, errors: 0, timed: 0, sample: [], routes: new Map(), servedBy: new Map() };
}

function copyBucket(b: Bucket): Bucket {
  return { requests: b.requests, errors: b.errors, timed: b.timed, sample: [...b.sample], routes: new Map(b.routes), servedBy: new Map(b.servedBy) };
}

function addToBucket(b: Bucket, record: AccessRecord, upstream: string, route: RouteConfig | undefined, sampleSize: number, random: () => number): void {
  b.requests++;
  if (record.status >= 500 && record.status <= 599) b.errors++;
  if (record.ms !== undefined) {
    b.timed++;
    // reservoir sampling (Vitter's algorithm R): every latency has the same chance to be kept
    if (b.sample.length < sampleSize) b.sample.push(record.ms);
    else {
      const slot = Math.floor(random() * b.timed);
      if (slot < sampleSize) b.sample[slot] = record.ms;
    }
  }
  b.servedBy.set(upstream, (b.servedBy.get(upstream) ?? 0) + 1);
  if (route) b.routes.set(route, (b.routes.get(route) ?? 0) + 1);
}

/** Counts a request, before it is counted in e.all, under each parameter that may still route the endpoint. */
function countParams(e: EndpointState, params: Map<string, string>, count: (bucket: Bucket) => void): void {
  for (const name of params.keys()) {
    if (e.params.has(name) || e.params.size >= MAX_PARAM_NAMES) continue;
    if ([...e.params.values()].filter((p) => !p.dropped).length >= MAX_PARAMS_TRACKED) break;
    // first seen now: every earlier request of the endpoint lacked it
    e.params.set(name, { kind: undefined, dropped: false, carried: 0, values: new Map(), absent: copyBucket(e.all) });
  }
  for (const [name, p] of e.params) {
    if (p.dropped) continue;
    const value = params.get(name);
    if (value === undefined) {
      count(p.absent);
      continue;
    }
    const found = classifyValue(name, value);
    const limit = (found?.kind ?? p.kind) === 'path' ? MAX_PATH_VALUES : MAX_WORD_VALUES;
    if (!found || (p.kind !== undefined && found.kind !== p.kind) || (!p.values.has(found.key) && p.values.size >= limit)) {
      drop(p);
      continue;
    }
    p.kind = found.kind;
    p.carried++;
    let bucket = p.values.get(found.key);
    if (!bucket) p.values.set(found.key, (bucket = newBucket()));
    count(bucket);
  }
}

function drop(p: ParamState): void {
  p.dropped = true;
  p.values.clear();
  p.absent = newBucket();
}

/** One row, or one per value of the endpoint's routing parameter plus one for its requests without it. */
function toEndpointRows(e: EndpointState): EndpointStats[] {
  if (e.asset) return [toEndpointStats(e.method, e.pattern, e.all, { asset: true })];
  const candidates = [...e.params].filter(([, p]) => !p.dropped && p.kind !== undefined).map(([name, p]) => ({ name, kind: p.kind!, carried: p.carried, values: p.values.size }));
  const routing = pickRoutingParam(candidates);
  if (!routing) return [toEndpointStats(e.method, e.pattern, e.all)];
  const p = e.params.get(routing.name)!;
  const rows = [...p.values].map(([value, bucket]) => toEndpointStats(e.method, `${e.pattern}?${routing.name}=${value}`, bucket, { queryParam: routing.name }));
  if (p.absent.requests > 0) rows.push(toEndpointStats(e.method, e.pattern, p.absent));
  return rows;
}

function toEndpointStats(method: string, pattern: string, b: Bucket, extra: Pick<EndpointStats, 'asset' | 'queryParam'> = {}): EndpointStats {
  const sorted = [...b.sample].sort((x, y) => x - y);
  let route: RouteConfig | undefined;
  let covered = 0;
  for (const [r, n] of b.routes) {
    if (n > covered) {
      route = r;
      covered = n;
    }
  }
  return {
    method,
    pattern,
    ...extra,
    requests: b.requests,
    errorRate: b.errors / b.requests,
    p50Ms: percentile(sorted, 0.5),
    p99Ms: percentile(sorted, 0.99),
    ...(route ? { route: { name: route.name, stage: route.stage } } : {}),
    coveredRequests: covered,
    servedBy: Object.fromEntries(b.servedBy),
  };
}

/** Nearest rank: the smallest value with at least p of the sample at or below it. */
export function percentile(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)];
}
