import { readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import type { FastifyInstance } from 'fastify';
import type { Knex } from 'knex';
import type { Test } from 'tap';
import { Pool } from 'undici';
import { MIGRATIONS_TABLE } from '../../migrations/migrate.ts';
import { buildComparator, compareCandidateError } from '../../proxy/comparison/compare.ts';
import { decodeResponse } from '../../proxy/comparison/decode-body.ts';
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

/**
 * The contract test `strangler extract` generates: a service must answer a route's recorded
 * requests as legacy did, whatever the legacy application is.
 *
 * Always, the service answers every sample and its answer is compared with the answer legacy
 * gave when the sample was recorded (timestamps aside: a recording is from another day). When
 * asked (CONTRACT_LIVE=1: routes.yaml's legacy:, or CONTRACT_LEGACY_URL=<url>), live legacy
 * answers each sample too:
 *   - the service is compared with live legacy's answer;
 *   - live legacy answers again after the clock has moved on (up to NOISE_ROUNDS times for safe
 *     methods): what differs between legacy's own answers (clocks, request ids, shuffled lists)
 *     is noise, never a difference, in every comparison;
 *   - the recorded answer is compared with live legacy's, so a sample that no longer describes
 *     legacy (recorded against other data) is caught.
 * The service reads the database of DATABASE_URL: the one legacy answers from. A sample that
 * would write (POST, PUT…) is only sent to a database the test owns (a `live` fixture's, or the
 * empty one used without DATABASE_URL), never to live legacy or to DATABASE_URL's.
 * While the service answers with the scaffold's 501, the comparisons are TODO; once the handler
 * answers, every difference fails.
 */

export interface ContractOptions {
  /** routes.yaml: the route's compare: rules and legacy: come from it */
  config: URL | string;
  /** the route's name in routes.yaml */
  route: string;
  /** the samples (JSONL of recorded exchanges, as the proxy's recorder and extract write them) */
  samples: URL | string;
  /** the service's buildApp */
  buildApp: (options: { db: Knex }) => FastifyInstance;
  /** the service's knex migrations, applied to a database the test owns when the folder has any */
  migrations?: URL | string;
  /** the service's database; default DATABASE_URL */
  databaseUrl?: string;
  /**
   * Live legacy started by the test itself, with the service's database beside it (the demo
   * monolith's own contract tests: test/helpers/demo-legacy.ts). Default: from the environment
   * (liveLegacyFromEnv), or none.
   */
  live?: StartLiveLegacy;
  /** the environment CONTRACT_LIVE, CONTRACT_LEGACY_URL and DATABASE_URL are read from; default process.env */
  env?: NodeJS.ProcessEnv;
}

export type StartLiveLegacy = (t: Test, context: { migrations?: string }) => Promise<LiveLegacy>;

export interface LiveLegacy {
  /** legacy's base URL: it answers every sample */
  url: string;
  /** a second legacy on the same data, asked again to learn noise; default url (asked again) */
  noiseUrl?: string;
  /** the service's database, holding the data legacy answers from (a copy the test owns) */
  databaseUrl?: string;
}

export interface SampleCheck {
  exchange: RecordedExchange;
  /** the recorded answer (primary) against the service (candidate); absent when the sample has no complete answer */
  recorded?: ComparisonResult;
  /** live legacy (primary) against the service (candidate); absent without live legacy */
  live?: ComparisonResult;
  /** the recorded answer (primary) against live legacy (candidate): the sample still describes legacy */
  stillTrue?: ComparisonResult;
  /** the service answered with the scaffold's 501 */
  stub: boolean;
  /** why the sample was not sent at all */
  skipped?: string;
}

export interface ContractRun {
  route: RouteConfig;
  /** legacy's address in routes.yaml, for hints */
  legacyUrl: string;
  /** the live legacy the service was compared with; undefined: the recorded answers only */
  liveUrl?: string;
  /** what the service's database was, for hints */
  database: string;
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
const WITHOUT_DATABASE_URL = 'an empty SQLite database (DATABASE_URL is not set)';

export async function checkContract(t: Test, options: ContractOptions): Promise<void> {
  const run = await runContract(t, options);
  reportContract(t, run);
}

/**
 * Live legacy as the environment asks for it: CONTRACT_LEGACY_URL=<url>, or CONTRACT_LIVE=1 for
 * routes.yaml's legacy:. Neither: undefined, the recorded answers only.
 */
export function liveLegacyFromEnv(env: NodeJS.ProcessEnv, routesLegacy: string): LiveLegacy | undefined {
  if (env.CONTRACT_LEGACY_URL) return { url: env.CONTRACT_LEGACY_URL };
  if (env.CONTRACT_LIVE && env.CONTRACT_LIVE !== '0' && env.CONTRACT_LIVE !== 'false') return { url: routesLegacy };
  return undefined;
}

/** Starts the service (and live legacy when asked), sends every sample, compares; everything stops at t's teardown. */
export async function runContract(t: Test, options: ContractOptions): Promise<ContractRun> {
  const env = options.env ?? process.env;
  const config = await loadConfig(toPath(options.config));
  const route = config.routes.find((r) => r.name === options.route);
  if (!route) throw errors.unknownRoute(options.route, config.routes.map((r) => r.name));
  const legacyUrl = config.legacy.origin;
  const exchanges: RecordedExchange[] = [];
  for await (const exchange of readTraffic(toPath(options.samples))) exchanges.push(exchange);
  if (exchanges.length === 0) return { route, legacyUrl, database: '', samples: [], noise: [] };

  const migrations = options.migrations ? toPath(options.migrations) : undefined;
  const live = options.live ? await options.live(t, { migrations }) : liveLegacyFromEnv(env, legacyUrl);
  // a database the test made may take writes and migrations; the application's own never does
  let databaseUrl = live?.databaseUrl ?? options.databaseUrl ?? env.DATABASE_URL;
  const ownsDatabase = live?.databaseUrl !== undefined || !databaseUrl;
  if (!databaseUrl) {
    databaseUrl = `sqlite:${path.join(t.testdir(), 'service.sqlite')}`;
    if (migrations && hasMigrations(migrations)) await migrate(databaseUrl, migrations);
  }
  const database = live?.databaseUrl !== undefined ? 'a copy of live legacy\'s database' : ownsDatabase ? WITHOUT_DATABASE_URL : 'DATABASE_URL';

  const db = createDb(databaseUrl);
  const app = options.buildApp({ db });
  t.teardown(async () => {
    await app.close();
    await db.destroy();
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  const serviceUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;

  const pool = (url: string) => {
    const p = new Pool(new URL(url).origin, { connections: 1 });
    t.teardown(() => p.destroy());
    return p;
  };
  const servicePool = pool(serviceUrl);
  const legacyPool = live ? pool(live.url) : undefined;
  const noisePool = live ? (live.noiseUrl ? pool(live.noiseUrl) : legacyPool) : undefined;
  const send = (p: Pool, exchange: RecordedExchange) => callUpstream(p, toCall(exchange, config.comparisons.captureLimit));
  const skipReason = (exchange: RecordedExchange): string | undefined => {
    if (SAFE_METHODS.has(exchange.request.method)) return undefined;
    if (live && !live.databaseUrl) return `${exchange.request.method} not sent: it would change live legacy's data`;
    if (!ownsDatabase) return `${exchange.request.method} not sent: it would change the data of DATABASE_URL; run it against a copy of the database`;
    return undefined;
  };

  const answers: Array<{ legacy?: CopyAnswer | Error; service?: CopyAnswer | Error; skipped?: string }> = [];
  for (const exchange of exchanges) {
    const skipped = skipReason(exchange);
    if (skipped) {
      answers.push({ skipped });
      continue;
    }
    const [l, s] = await Promise.allSettled([legacyPool ? send(legacyPool, exchange) : Promise.resolve(undefined), send(servicePool, exchange)]);
    answers.push({ legacy: toValueOrError(l), service: toValueOrError(s) });
  }

  const learner = createNoiseLearner();
  if (noisePool) {
    // legacy's clocks may have a resolution of a second: ask again in a later second, or a
    // clock field would look stable and the service's own clock would differ from it
    await sleep(1000 - (Date.now() % 1000) + 10);
    for (let i = 0; i < exchanges.length; i++) {
      const first = answers[i].legacy;
      if (!first || first instanceof Error) continue;
      const rounds = SAFE_METHODS.has(exchanges[i].request.method) ? NOISE_ROUNDS : 1;
      // a write asked again of the same legacy would write twice
      if (rounds === 1 && noisePool === legacyPool) continue;
      for (let round = 0; round < rounds; round++) {
        const again = await send(noisePool, exchanges[i]).catch(() => undefined);
        if (again) learner.observe(route.name, first.response, again.response);
      }
    }
  }

  const noise = learner.optionsFor(route.name);
  const compareLive = buildComparator(route.compare, noise);
  const compareRecorded = buildComparator(withTimestampsNormalized(route.compare), noise);
  // a recording made before answers were stored decoded still holds the compressed bytes
  const recordings = await Promise.all(exchanges.map((e) => (e.response && !e.response.truncated ? toCaptured(e.response, config.comparisons.captureLimit) : undefined)));
  const samples = exchanges.map((exchange, i): SampleCheck => {
    const { legacy: l, service: s, skipped } = answers[i];
    if (skipped) return { exchange, stub: false, skipped };
    const stub = s !== undefined && !(s instanceof Error) && s.response.status === 501 && s.response.body.includes(NOT_IMPLEMENTED_TAG);
    const check: SampleCheck = { exchange, stub };
    const recorded = recordings[i];
    if (recorded) check.recorded = s instanceof Error ? compareCandidateError(s) : compareRecorded(recorded, s!.response);
    if (l instanceof Error) check.live = { outcome: 'skipped', differences: [], noise: [], reason: `legacy gave no answer: ${l.message}` };
    else if (l) {
      check.live = s instanceof Error ? compareCandidateError(s) : compareLive(l.response, s!.response);
      if (recorded) check.stillTrue = compareRecorded(recorded, l.response);
    }
    return check;
  });
  return { route, legacyUrl, liveUrl: live?.url, database, samples, noise: learner.report(route.name).entries };
}

/** One assertion per sample and comparison; TODO (not failing) while the handler is the scaffold's stub. */
export function reportContract(t: Test, run: ContractRun): void {
  const { route, samples } = run;
  const match = `${route.methods.join(',')} ${route.path}`;
  if (samples.length === 0) {
    t.ok(false, `${route.name}: no samples to hold the service to`, {
      todo: `record some: strangler extract "${match}" --service ${route.service} --paths "<path>,<path>" (asks legacy at ${run.legacyUrl}), or --samples <recording>`,
    });
    return;
  }
  const differing = samples.filter((s) => (s.live ?? s.recorded) !== undefined && (s.live ?? s.recorded)!.outcome !== 'match').length;
  const todo = samples.some((s) => s.stub) ? `handler not implemented yet: ${differing} of ${samples.length} samples differ` : false;
  t.comment(run.liveUrl
    ? `the service (on ${run.database}) against live legacy at ${run.liveUrl} and the recorded answers`
    : `the service (on ${run.database}) against the recorded answers; CONTRACT_LIVE=1 also compares it with live legacy at ${run.legacyUrl} (CONTRACT_LEGACY_URL=<url>: another legacy)`);
  if (run.noise.length > 0) {
    t.comment(`not compared, legacy differs from itself there: ${run.noise.map((n) => n.pattern).join(', ')} (make it permanent with compare: rules in routes.yaml)`);
  }
  samples.forEach((s, i) => {
    const what = `sample ${i + 1}: ${s.exchange.request.method} ${s.exchange.request.url}`;
    if (s.skipped) {
      t.pass(what, { skip: s.skipped });
      return;
    }
    // tap hides a TODO's diagnostics unless asked: they say what is left to implement
    const hold = (result: ComparisonResult, name: string, primary: string) => {
      const ok = result.outcome === 'match';
      t.ok(ok, `${what} ${name}`, ok ? {} : { todo, diagnostic: true, ...describeResult(result, primary, 'service') });
    };
    if (s.recorded) hold(s.recorded, 'answers as recorded', 'recorded');
    else if (!s.live) t.ok(false, `${what} has no recorded answer to hold the service to`, { todo: 'record it again (strangler extract … --paths), or run with CONTRACT_LIVE=1' });
    if (s.live) hold(s.live, 'answers like live legacy', 'legacy');
    if (!s.stillTrue) return;
    const stillTrue = s.stillTrue.outcome === 'match';
    t.ok(stillTrue, `${what}: the recorded answer still matches live legacy`, stillTrue ? {} : {
      ...describeResult(s.stillTrue, 'recorded', 'legacy'),
      fix: 'the sample was recorded against other data (or legacy changed): delete its line from the samples file and record it again (strangler extract … --paths "<path>")',
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

function toCaptured(response: StoredResponse, captureLimit: number): Promise<CapturedResponse> {
  const captured: CapturedResponse = {
    status: response.status,
    headers: response.headers,
    body: Buffer.from(response.body, response.bodyEncoding === 'base64' ? 'base64' : 'utf8'),
    truncated: response.truncated,
  };
  if (response.decodedFrom) captured.decodedFrom = response.decodedFrom;
  return decodeResponse(captured, captureLimit);
}

function toValueOrError<T>(result: PromiseSettledResult<T>): T | Error {
  if (result.status === 'fulfilled') return result.value;
  return result.reason instanceof Error ? result.reason : new Error(String(result.reason));
}

/** Applies the service's migrations to a database the test made. */
export async function migrate(databaseUrl: string, directory: string): Promise<void> {
  const db = createDb(databaseUrl);
  try {
    await db.migrate.latest({ directory, loadExtensions: ['.ts'], tableName: MIGRATIONS_TABLE });
  } finally {
    await db.destroy();
  }
}

export function hasMigrations(directory: string): boolean {
  try {
    return readdirSync(directory).some((f) => f.endsWith('.ts'));
  } catch {
    return false;
  }
}

function toPath(location: URL | string): string {
  return location instanceof URL ? fileURLToPath(location) : location;
}
