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
  nsPerRequest: number;
  /** share of matched requests the flag sent to the service: ~0.5 shows the flags were really evaluated */
  flagOnShare: number;
}

export interface DecideReport {
  iterations: number;
  results: DecideResult[];
  /** ns per request with the most routes over ns with the fewest */
  ratio: number;
}

const ROUTE_COUNTS = [10, 10_000];
const DISTINCT_REQUESTS = 1 << 14;
const USERS = 100_000;
const BATCHES = 5;

/**
 * `tmpRoot` holds the generated configs while they are measured. The route counts' batches are
 * interleaved (10, 10 000, 10, 10 000, …) so a machine that slows down or speeds up during the
 * run moves both alike and the ratio stays fair.
 */
export async function measureDecide(iterations = 1_000_000, tmpRoot = os.tmpdir()): Promise<DecideReport> {
  const setups: Setup[] = [];
  try {
    for (const routes of ROUTE_COUNTS) setups.push(await setUp(routes, tmpRoot));
    const perBatch = Math.ceil(iterations / BATCHES);
    // warm-up: let the JIT settle on both before timing
    for (const setup of setups) runBatch(setup.exchanges, setup.state, perBatch);
    const samples = setups.map((): number[] => []);
    for (let b = 0; b < BATCHES; b++) {
      setups.forEach((setup, i) => samples[i].push(Number(runBatch(setup.exchanges, setup.state, perBatch)) / perBatch));
    }
    const results = setups.map((setup, i): DecideResult => {
      const sorted = samples[i].sort((a, b) => a - b);
      return { routes: setup.routes, nsPerRequest: sorted[Math.floor(BATCHES / 2)], flagOnShare: flagOnShare(setup.exchanges) };
    });
    return { iterations, results, ratio: results[results.length - 1].nsPerRequest / results[0].nsPerRequest };
  } finally {
    for (const setup of setups) await setup.close();
  }
}

export function formatDecide(report: DecideReport): string {
  return [
    `decision micro-benchmark (matchRoute + decide, no sockets), median of ${BATCHES} interleaved batches, ${report.iterations.toLocaleString('en')} requests each route count`,
    ...report.results.map(
      (r) => `  ${String(r.routes).padStart(6)} routes: ${r.nsPerRequest.toFixed(0).padStart(6)} ns/request   (flag on for ${(r.flagOnShare * 100).toFixed(1)} % of matched requests)`,
    ),
    `  ratio ${ROUTE_COUNTS[ROUTE_COUNTS.length - 1]} / ${ROUTE_COUNTS[0]} routes: ${report.ratio.toFixed(2)}`,
  ].join('\n');
}

interface Setup {
  routes: number;
  state: ProxyState;
  exchanges: Exchange[];
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
    routes: count,
    state,
    exchanges: buildExchanges(count),
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

/** Fake requests, the same every run: even ones on a route, odd ones on paths no route matches. */
function buildExchanges(routes: number): Exchange[] {
  const random = seededRandom(42);
  const res = {} as ServerResponse;
  return Array.from({ length: DISTINCT_REQUESTS }, (_, i) => {
    const id = Math.floor(random() * 1e6);
    const url = i % 2 === 0 ? `/api/r${Math.floor(random() * routes)}/${id}` : i % 4 === 1 ? `/api/unknown/${id}` : `/assets/app.${id}.js?v=3`;
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
