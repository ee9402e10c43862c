import { readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import type { FastifyInstance } from 'fastify';
import type { Knex } from 'knex';
import type { Test } from 'tap';
import { Pool } from 'undici';
import { startLegacy } from '../../legacy/start-legacy.ts';
import { MIGRATIONS_TABLE } from '../../migrations/migrate.ts';
import { buildComparator, compareCandidateError } from '../../proxy/comparison/compare.ts';
import { createNoiseLearner, type NoiseEntry } from '../../proxy/comparison/noise.ts';
import type { RulesInput } from '../../proxy/comparison/rules.ts';
import type { CapturedResponse, ComparisonResult, Difference } from '../../proxy/comparison/types.ts';
import { loadConfig } from '../../proxy/config/load-config.ts';
import { SAFE_METHODS, type RouteConfig } from '../../proxy/config/schema.ts';
import { errors } from '../../proxy/errors.ts';
import { NOT_IMPLEMENTED_TAG } from '../../proxy/extract/templates.ts';
import { REDACTED } from '../../proxy/parity/redact.ts';
import type { RecordedExchange, StoredResponse } from '../../proxy/parity/records.ts';
import { readTraffic } from '../../proxy/replay/read-traffic.ts';
import { callUpstream, type CopyAnswer } from '../../proxy/shadow/call-upstream.ts';
import { createDb } from '../../services/shared/database.ts';
import { createTestDatabase } from './mysql.ts';

/**
 * The contract test `strangler extract` generates: a service must answer a route's recorded
 * requests as live legacy does.
 *
 * Samples were recorded against some legacy's data, so the service has to be compared with a
 * legacy that has the same data: real legacy (PHP) is started on a freshly seeded database
 * (an SQLite file, or a MySQL/MariaDB database with engine: 'mysql'), and the service gets an
 * identical copy (copies, not one shared database, so a write sample changes each side's data
 * once, the same way). For each sample, in file order:
 *   1. legacy and the service answer it; their answers are compared with the route's compare:
 *      rules from routes.yaml plus the noise learned in 2;
 *   2. a second legacy, on a third copy, answers it again after the clock has moved on (up to
 *      NOISE_ROUNDS times for safe methods): what differs between legacy's own answers
 *      (generated_at, request_id, shuffled lists) is noise, never a difference;
 *   3. the recorded answer is compared with live legacy's, timestamps aside, so a sample that
 *      no longer describes legacy (recorded against other data) is caught.
 * While the service answers with the scaffold's 501, the comparisons of 1 are TODO; once the
 * handler answers, every difference fails.
 */

export interface ContractOptions {
  /** routes.yaml: the route's compare: rules come from it */
  config: URL | string;
  /** the route's name in routes.yaml */
  route: string;
  /** the samples (JSONL of recorded exchanges, as the proxy's recorder writes them) */
  samples: URL | string;
  /** the service's buildApp; it gets a database with legacy's schema and seed */
  buildApp: (options: { db: Knex }) => FastifyInstance;
  /** the service's knex migrations, applied to the test database when the folder has any */
  migrations?: URL | string;
  /**
   * where legacy and the service keep their data: SQLite files (default), or throw-away
   * databases on the MySQL/MariaDB server of MYSQL_URL (skip with mysqlSkipReason without one)
   */
  engine?: 'sqlite' | 'mysql';
}

export interface SampleCheck {
  exchange: RecordedExchange;
  /** live legacy (primary) against the service (candidate) */
  service: ComparisonResult;
  /** the recorded answer (primary) against live legacy (candidate); absent when the sample has no complete answer */
  recorded?: ComparisonResult;
  /** the service answered with the scaffold's 501 */
  stub: boolean;
}

export interface ContractRun {
  route: RouteConfig;
  /** legacy's address in routes.yaml, for hints */
  legacyUrl: string;
  samples: SampleCheck[];
  /** what legacy's own answers differed in, so was not compared */
  noise: NoiseEntry[];
}

/** Legacy answers each safe sample this many more times to learn noise (random orders need a few tries). */
export const NOISE_ROUNDS = 3;
const CALL_TIMEOUT_MS = 10_000;
/** Differences listed per failing sample. */
const LISTED_DIFFERENCES = 10;
const UNSENT_HEADERS = new Set(['host', 'content-length']);

export async function checkContract(t: Test, options: ContractOptions): Promise<void> {
  const run = await runContract(t, options);
  reportContract(t, run);
}

/** Starts legacy twice and the service, sends every sample, compares; everything stops at t's teardown. */
export async function runContract(t: Test, options: ContractOptions): Promise<ContractRun> {
  const config = await loadConfig(toPath(options.config));
  const route = config.routes.find((r) => r.name === options.route);
  if (!route) throw errors.unknownRoute(options.route, config.routes.map((r) => r.name));
  const exchanges: RecordedExchange[] = [];
  for await (const exchange of readTraffic(toPath(options.samples))) exchanges.push(exchange);
  if (exchanges.length === 0) return { route, legacyUrl: config.legacy.origin, samples: [], noise: [] };

  const databases = await createDatabases(t, options.engine ?? 'sqlite');
  // legacy seeds its database on start; the seed's timestamps are relative to now, so the
  // other two databases are copies of this one, never seeded separately
  const legacy = await startLegacy({ databaseUrl: databases.legacy, port: 0, workers: 2 });
  t.teardown(() => legacy.stop());
  const seeded = createDb(databases.legacy);
  try {
    const migrations = options.migrations ? toPath(options.migrations) : undefined;
    if (migrations && hasMigrations(migrations)) {
      await seeded.migrate.latest({ directory: migrations, loadExtensions: ['.ts'], tableName: MIGRATIONS_TABLE });
    }
    await databases.copy(seeded, databases.noise);
    await databases.copy(seeded, databases.service);
  } finally {
    await seeded.destroy();
  }
  const legacyAgain = await startLegacy({ databaseUrl: databases.noise, port: 0, workers: 2 });
  t.teardown(() => legacyAgain.stop());
  const db = createDb(databases.service);
  const app = options.buildApp({ db });
  t.teardown(async () => {
    await app.close();
    await db.destroy();
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  const serviceUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;

  const pools = [legacy.url, legacyAgain.url, serviceUrl].map((url) => new Pool(url, { connections: 1 }));
  t.teardown(() => Promise.all(pools.map((p) => p.destroy())));
  const [legacyPool, noisePool, servicePool] = pools;
  const send = (pool: Pool, exchange: RecordedExchange) => callUpstream(pool, toCall(exchange, config.comparisons.captureLimit));

  const answers: Array<{ legacy: CopyAnswer | Error; service: CopyAnswer | Error }> = [];
  for (const exchange of exchanges) {
    const [l, s] = await Promise.allSettled([send(legacyPool, exchange), send(servicePool, exchange)]);
    answers.push({ legacy: toValueOrError(l), service: toValueOrError(s) });
  }

  // legacy's clocks have a resolution of a second: ask again in a later second, or a clock
  // field would look stable and the service's own clock would differ from it
  await sleep(1000 - (Date.now() % 1000) + 10);

  const learner = createNoiseLearner();
  for (let i = 0; i < exchanges.length; i++) {
    const first = answers[i].legacy;
    const rounds = SAFE_METHODS.has(exchanges[i].request.method) ? NOISE_ROUNDS : 1;
    for (let round = 0; round < rounds; round++) {
      const again = await send(noisePool, exchanges[i]).catch(() => undefined);
      if (again && !(first instanceof Error)) learner.observe(route.name, first.response, again.response);
    }
  }

  const compareService = buildComparator(route.compare, learner.optionsFor(route.name));
  const compareRecorded = buildComparator(withTimestampsNormalized(route.compare), learner.optionsFor(route.name));
  const samples = exchanges.map((exchange, i): SampleCheck => {
    const { legacy: l, service: s } = answers[i];
    if (l instanceof Error) {
      const reason = `legacy gave no answer: ${l.message}`;
      return { exchange, service: { outcome: 'skipped', differences: [], noise: [], reason }, stub: false };
    }
    const service = s instanceof Error ? compareCandidateError(s) : compareService(l.response, s.response);
    const stub = !(s instanceof Error) && s.response.status === 501 && s.response.body.includes(NOT_IMPLEMENTED_TAG);
    const check: SampleCheck = { exchange, service, stub };
    if (exchange.response && !exchange.response.truncated) check.recorded = compareRecorded(toCaptured(exchange.response), l.response);
    return check;
  });
  return { route, legacyUrl: config.legacy.origin, samples, noise: learner.report(route.name).entries };
}

/** One assertion per sample and answer; TODO (not failing) while the handler is the scaffold's stub. */
export function reportContract(t: Test, run: ContractRun): void {
  const { route, samples } = run;
  const match = `${route.methods.join(',')} ${route.path}`;
  if (samples.length === 0) {
    t.ok(false, `${route.name}: no samples to hold the service to`, {
      todo: `record some: strangler extract "${match}" --service ${route.service} --paths "<path>,<path>" (asks legacy at ${run.legacyUrl}), or --samples <recording>`,
    });
    return;
  }
  const differing = samples.filter((s) => s.service.outcome !== 'match').length;
  const todo = samples.some((s) => s.stub) ? `handler not implemented yet: ${differing} of ${samples.length} samples differ` : false;
  if (run.noise.length > 0) {
    t.comment(`not compared, legacy differs from itself there: ${run.noise.map((n) => n.pattern).join(', ')} (make it permanent with compare: rules in routes.yaml)`);
  }
  samples.forEach((s, i) => {
    const what = `sample ${i + 1}: ${s.exchange.request.method} ${s.exchange.request.url}`;
    const ok = s.service.outcome === 'match';
    // tap hides a TODO's diagnostics unless asked: they say what is left to implement
    t.ok(ok, `${what} answers like legacy`, ok ? {} : { todo, diagnostic: true, ...describeResult(s.service, 'legacy', 'service') });
    if (!s.recorded) return;
    const stillTrue = s.recorded.outcome === 'match';
    t.ok(stillTrue, `${what}: the recorded answer still matches live legacy`, stillTrue ? {} : {
      ...describeResult(s.recorded, 'recorded', 'legacy'),
      fix: 'the sample was recorded against other data (or legacy changed): delete its line from the samples file and record it again from a freshly seeded legacy (strangler extract … --from-legacy <url> --paths "<path>")',
    });
  });
}

function describeResult(result: ComparisonResult, primary: string, candidate: string): Record<string, unknown> {
  const out: Record<string, unknown> = { outcome: result.outcome };
  if (result.reason) out.reason = result.reason;
  if (result.differences.length > 0) {
    out.differences = result.differences.slice(0, LISTED_DIFFERENCES).map((d: Difference) => ({
      path: d.path,
      kind: d.kind,
      ...('primary' in d ? { [primary]: d.primary } : {}),
      ...('candidate' in d ? { [candidate]: d.candidate } : {}),
    }));
    const more = result.differences.length - LISTED_DIFFERENCES + (result.omitted?.differences ?? 0);
    if (more > 0) out.moreDifferences = more;
  }
  return out;
}

/** A recorded answer is from another day: its timestamps cannot match, their presence must. */
function withTimestampsNormalized(rules: RulesInput): RulesInput {
  const normalize = { ...rules.normalize };
  normalize['$..*'] = [...(normalize['$..*'] ?? []), 'timestamp'];
  return { ...rules, normalize };
}

function toCall(exchange: RecordedExchange, captureLimit: number) {
  const { method, url, headers: recorded, body, bodyEncoding } = exchange.request;
  const headers: Record<string, string> = {};
  // redacted values are placeholders: sending them would only earn a 401
  for (const [name, value] of Object.entries(recorded)) if (value !== REDACTED && !UNSENT_HEADERS.has(name)) headers[name] = value;
  return {
    method,
    path: url,
    headers,
    body: body === undefined ? null : Buffer.from(body, bodyEncoding === 'base64' ? 'base64' : 'utf8'),
    timeoutMs: CALL_TIMEOUT_MS,
    captureLimit,
  };
}

function toCaptured(response: StoredResponse): CapturedResponse {
  return {
    status: response.status,
    headers: response.headers,
    body: Buffer.from(response.body, response.bodyEncoding === 'base64' ? 'base64' : 'utf8'),
    truncated: response.truncated,
  };
}

function toValueOrError<T>(result: PromiseSettledResult<T>): T | Error {
  if (result.status === 'fulfilled') return result.value;
  return result.reason instanceof Error ? result.reason : new Error(String(result.reason));
}

interface ContractDatabases {
  /** DATABASE_URLs: legacy's (seeded by legacy), the noise legacy's and the service's (copies) */
  legacy: string;
  noise: string;
  service: string;
  /** makes the database at `to` a copy of `from`'s tables and rows */
  copy(from: Knex, to: string): Promise<void>;
}

async function createDatabases(t: Test, engine: 'sqlite' | 'mysql'): Promise<ContractDatabases> {
  if (engine === 'sqlite') {
    const dir = t.testdir();
    const file = (name: string) => path.join(dir, `${name}.sqlite`);
    return {
      legacy: `sqlite:${file('legacy')}`,
      noise: `sqlite:${file('legacy-noise')}`,
      service: `sqlite:${file('service')}`,
      copy: async (from, to) => void (await from.raw('VACUUM INTO ?', [to.slice('sqlite:'.length)])),
    };
  }
  const [legacy, noise, service] = await Promise.all(['contract_legacy', 'contract_noise', 'contract_service'].map(createTestDatabase));
  t.teardown(() => Promise.all([legacy, noise, service].map((d) => d.drop())));
  return {
    legacy: legacy.url,
    noise: noise.url,
    service: service.url,
    async copy(from, to) {
      // one server: CREATE TABLE … LIKE keeps columns, types and indexes (foreign keys are
      // not copied, and a copy needs none)
      const target = decodeURIComponent(new URL(to).pathname.slice(1));
      const [rows] = (await from.raw('SHOW FULL TABLES WHERE Table_type = ?', ['BASE TABLE'])) as [Array<Record<string, string>>];
      for (const row of rows) {
        const table = Object.values(row)[0];
        await from.raw('CREATE TABLE ??.?? LIKE ??', [target, table, table]);
        await from.raw('INSERT INTO ??.?? SELECT * FROM ??', [target, table, table]);
      }
    },
  };
}

function hasMigrations(directory: string): boolean {
  try {
    return readdirSync(directory).some((f) => f.endsWith('.ts'));
  } catch {
    return false;
  }
}

function toPath(location: URL | string): string {
  return location instanceof URL ? fileURLToPath(location) : location;
}
