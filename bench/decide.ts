import { mkdtemp, rm } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import pino from 'pino';
import { loadConfig } from '../proxy/config/load-config.ts';
import { createFlagSource } from '../proxy/flags/flag-source.ts';
import { rolloutFeature } from '../proxy/flags/flags-file.ts';
import { createExchange, type Exchange } from '../proxy/pipeline/exchange.ts';
import { decide, matchRoute, type ProxyState } from '../proxy/pipeline/stages.ts';
import { buildRouteTable } from '../proxy/routing/route-table.ts';
import { createBreakerBoard } from '../proxy/safety/circuit-breaker.ts';
import { writeBenchConfig, writeBenchFlags } from './bench-config.ts';

/**
 * Micro-benchmark of the per-request decision without sockets: the real matchRoute and decide
 * stages (find-my-way lookup, request → Unleash context, flexibleRollout at 50 %) on fake
 * requests spread over many users, half on a route and half not.
 */

export interface DecideResult {
  routes: number;
  /** how many of the routes the requests are spread over */
  busyRoutes: number;
  nsPerRequest: number;
  /** share of matched requests the flag sent to the service: ~0.5 shows the flags were really evaluated */
  flagOnShare: number;
}

export interface DecideReport {
  iterations: number;
  results: DecideResult[];
  /** ns per request with 10 000 routes, traffic on all of them, over ns with 10 routes */
  ratio: number;
  /** the same with 10 000 routes of which 100 get the traffic */
  busyRatio: number;
}

const FEW = 10;
const MANY = 10_000;
const BUSY = 100;
/** the cases, by routes in routes.yaml and routes the traffic is spread over */
const CASES = [
  { routes: FEW, busy: FEW },
  { routes: MANY, busy: MANY },
  { routes: MANY, busy: BUSY },
];
const DISTINCT_REQUESTS = 1 << 14;
const USERS = 100_000;
const BATCHES = 5;

/**
 * `tmpRoot` holds the generated configs while they are measured. The cases' batches are
 * interleaved (10, 10 000, 10 000 with 100 busy, 10, …) so a machine that slows down or speeds
 * up during the run moves all alike and the ratios stay fair.
 *
 * Two 10 000-route cases, because they measure different things. Traffic spread evenly over all
 * 10 000 routes is the worst case: every request walks a different part of the route tree and
 * reads a different flag, so the cost is mostly cache misses. Traffic on 100 of them is what
 * the many routes of the file cost by themselves while the busy few carry the load.
 */
export async function measureDecide(iterations = 1_000_000, tmpRoot = os.tmpdir()): Promise<DecideReport> {
  const setups = new Map<number, Setup>();
  try {
    for (const { routes } of CASES) if (!setups.has(routes)) setups.set(routes, await setUp(routes, tmpRoot));
    const cases = CASES.map((c) => ({ ...c, state: setups.get(c.routes)!.state, exchanges: buildExchanges(c.routes, c.busy) }));
    const perBatch = Math.ceil(iterations / BATCHES);
    // warm-up: let the JIT settle on all before timing
    for (const c of cases) runBatch(c.exchanges, c.state, perBatch);
    const samples = cases.map((): number[] => []);
    for (let b = 0; b < BATCHES; b++) {
      cases.forEach((c, i) => samples[i].push(Number(runBatch(c.exchanges, c.state, perBatch)) / perBatch));
    }
    const results = cases.map((c, i): DecideResult => {
      const sorted = samples[i].sort((a, b) => a - b);
      return { routes: c.routes, busyRoutes: c.busy, nsPerRequest: sorted[Math.floor(BATCHES / 2)], flagOnShare: flagOnShare(c.exchanges) };
    });
    const ns = (routes: number, busy: number) => results.find((r) => r.routes === routes && r.busyRoutes === busy)!.nsPerRequest;
    return { iterations, results, ratio: ns(MANY, MANY) / ns(FEW, FEW), busyRatio: ns(MANY, BUSY) / ns(FEW, FEW) };
  } finally {
    for (const setup of setups.values()) await setup.close();
  }
}

export function formatDecide(report: DecideReport): string {
  const busy = (r: DecideResult) => (r.busyRoutes === r.routes ? 'traffic on all' : `traffic on ${r.busyRoutes}`);
  return [
    `decision micro-benchmark (matchRoute + decide, no sockets), median of ${BATCHES} interleaved batches, ${report.iterations.toLocaleString('en')} requests each case`,
    ...report.results.map(
      (r) =>
        `  ${String(r.routes).padStart(6)} routes, ${busy(r).padEnd(15)}: ${r.nsPerRequest.toFixed(0).padStart(6)} ns/request   (flag on for ${(r.flagOnShare * 100).toFixed(1)} % of matched requests)`,
    ),
    `  ratio ${MANY} / ${FEW} routes, traffic on all: ${report.ratio.toFixed(2)}; traffic on ${BUSY} of the ${MANY}: ${report.busyRatio.toFixed(2)}`,
  ].join('\n');
}

interface Setup {
  state: ProxyState;
  close(): Promise<void>;
}

async function setUp(count: number, tmpRoot: string): Promise<Setup> {
  const dir = await mkdtemp(path.join(tmpRoot, 'decide-'));
  const names = Array.from({ length: count }, (_, i) => `r${i}`);
  await writeBenchFlags(dir, names.map((name) => rolloutFeature(name, 50)));
  const file = await writeBenchConfig({
    dir,
    name: 'routes.yaml',
    legacy: 'http://127.0.0.1:1',
    services: { svc: 'http://127.0.0.1:2' },
    routes: names.map((name) => ({ name, match: `GET /api/${name}/:id`, service: 'svc' })),
    logLevel: 'warn',
  });
  const config = await loadConfig(file);
  const flags = await createFlagSource(config.flags, { logger: pino({ level: 'silent' }), flagNames: names });
  // matchRoute and decide never reach the forwarder.
  // the stages decide reads; the breaker board is real (all closed), as in the proxy
  const state = { config, routes: buildRouteTable(config.routes), flags, breakers: createBreakerBoard({ failures: 5, openForMs: 10_000 }) } as Partial<ProxyState> as ProxyState;
  return {
    state,
    async close() {
      flags.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

function runBatch(exchanges: Exchange[], state: ProxyState, n: number): bigint {
  const mask = exchanges.length - 1;
  const start = process.hrtime.bigint();
  for (let i = 0; i < n; i++) {
    const exchange = exchanges[i & mask];
    matchRoute(exchange, state);
    decide(exchange, state);
  }
  return process.hrtime.bigint() - start;
}

/**
 * Fake requests, the same every run: even ones on one of `busy` routes spread evenly over the
 * table, odd ones on paths no route matches.
 */
function buildExchanges(routes: number, busy: number): Exchange[] {
  const stride = Math.floor(routes / busy);
  const random = seededRandom(42);
  const res = {} as ServerResponse;
  return Array.from({ length: DISTINCT_REQUESTS }, (_, i) => {
    const id = Math.floor(random() * 1e6);
    const url = i % 2 === 0 ? `/api/r${Math.floor(random() * busy) * stride}/${id}` : i % 4 === 1 ? `/api/unknown/${id}` : `/assets/app.${id}.js?v=3`;
    const req = {
      method: 'GET',
      url,
      headers: { 'x-user-id': `user-${Math.floor(random() * USERS)}`, cookie: `PHPSESSID=s${i}; theme=dark` },
      socket: { remoteAddress: '127.0.0.1' },
    } as unknown as IncomingMessage;
    return createExchange(String(i), req, res, 0);
  });
}

function flagOnShare(exchanges: Exchange[]): number {
  const matched = exchanges.filter((e) => e.route !== null);
  return matched.filter((e) => e.decision?.reason === 'flag-on').length / matched.length;
}

/** mulberry32: a tiny deterministic generator, so every run times the same requests. */
function seededRandom(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  console.log(formatDecide(await measureDecide()));
}
