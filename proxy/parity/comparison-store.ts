import type { Knex } from 'knex';
import type { Logger } from 'pino';
import { migrateProxyStore } from '../../migrations/migrate.ts';
import type { NoiseEntry } from '../comparison/noise.ts';
import type { ComparisonOutcome } from '../comparison/types.ts';
import type { ComparisonRecord, ComparisonSource } from './records.ts';

/**
 * Where comparisons live: a knex database (SQLite by default, MySQL when several proxy replicas
 * share one). Mismatches and candidate errors are kept whole (redacted, bodies cut), to be read
 * and shown side by side; matches and skips are counted per second and route, because a busy
 * route compares thousands a second and what matters about a match is that it happened. One
 * match per route and minute is also kept whole, as an example of what matching looks like.
 * Writes are queued and inserted in batches off the request path; the queue is bounded, and
 * what does not fit is dropped and counted, never allowed to grow the heap.
 */
export interface ComparisonStore {
  /** queues a comparison (already redacted); a match or skip is only counted. Never throws, never waits */
  add(record: ComparisonRecord): void;
  /** counts a match or skip without building its record (the cheap path of the shadow stage) */
  count(route: string, source: ComparisonSource, outcome: 'match' | 'skipped', reason?: string): void;
  /** whether the next match of this route is kept whole, as the route's example of a match (one a minute) */
  matchExampleDue(route: string): boolean;
  /** replaces what is stored about a route's learned noise */
  saveNoise(route: string, entries: readonly NoiseEntry[]): void;
  /** writes everything queued so far */
  flush(): Promise<void>;
  /** deletes comparisons older than the retention, then the oldest beyond maxRows */
  prune(now?: number): Promise<number>;
  counts(query: StoreQuery): Promise<Array<{ route: string; outcome: ComparisonOutcome; n: number }>>;
  /** skipped comparisons per route and reason */
  skipReasons(query: StoreQuery): Promise<Array<{ route: string; reason: string; n: number }>>;
  /** newest first; mismatches and candidate errors (matches and skips are only counted) */
  list(query: StoreQuery & { outcome?: ComparisonOutcome; limit: number }): Promise<ComparisonRecord[]>;
  noise(route?: string): Promise<Map<string, NoiseEntry[]>>;
  routes(): Promise<string[]>;
  readonly stats: { queued: number; written: number; dropped: number; failedBatches: number };
  close(): Promise<void>;
}

export interface StoreQuery {
  route?: string;
  source?: ComparisonSource;
  /** epoch ms, inclusive */
  since?: number;
  /** epoch ms, exclusive */
  until?: number;
}

export interface StoreOptions {
  retentionMs: number;
  maxRows: number;
  logger?: Logger;
  /** comparisons waiting to be written; beyond it new ones are dropped and counted */
  maxQueued?: number;
  flushEveryMs?: number;
  /** how often retention runs while open */
  pruneEveryMs?: number;
}

const BATCH = 200;

/** Opens the store on an existing knex instance (whose life the store then owns) and migrates it. */
export async function openComparisonStore(db: Knex, options: StoreOptions): Promise<ComparisonStore> {
  await migrateWhenFree(db);
  const { retentionMs, maxRows, logger, maxQueued = 5000, flushEveryMs = 250, pruneEveryMs = 60_000 } = options;
  let queue: ComparisonRecord[] = [];
  /** `${route}\0${source}\0${outcome}\0${reason}\0${second}` → comparisons */
  let buckets = new Map<string, number>();
  const noiseQueue = new Map<string, readonly NoiseEntry[]>();
  let writing: Promise<void> = Promise.resolve();
  const stats = { queued: 0, written: 0, dropped: 0, failedBatches: 0 };
  let lastDropWarning = 0;
  /** route → epoch minute of its last kept match */
  const matchExamples = new Map<string, number>();
  const MINUTE = 60_000;
  const isMatchExampleDue = (route: string) => matchExamples.get(route) !== Math.floor(Date.now() / MINUTE);

  const writeQueued = async (): Promise<void> => {
    while (queue.length > 0 || noiseQueue.size > 0 || buckets.size > 0) {
      const batch = queue.slice(0, BATCH);
      queue = queue.slice(batch.length);
      stats.queued = queue.length;
      const noise = [...noiseQueue];
      noiseQueue.clear();
      const counted = [...buckets];
      buckets = new Map();
      try {
        if (counted.length > 0) {
          const rows = counted.map(([key, n]) => {
            const [route, source, outcome, reason, second] = key.split('\u0000');
            return { at: Number(second) * 1000, route, source, outcome, reason, n };
          });
          for (let i = 0; i < rows.length; i += BATCH) await db('strangler_comparison_counts').insert(rows.slice(i, i + BATCH));
        }
        if (batch.length > 0) {
          await db('strangler_comparisons').insert(
            batch.map((r) => ({ at: Date.parse(r.at), route: r.route, source: r.source, outcome: r.outcome, record: JSON.stringify(r) })),
          );
          stats.written += batch.length;
        }
        for (const [route, entries] of noise) await writeNoise(db, route, entries);
      } catch (err) {
        stats.failedBatches++;
        stats.dropped += batch.length;
        logger?.error({ err, comparisons: batch.length }, 'comparison store write failed; these comparisons are lost, the proxy keeps serving');
      }
    }
  };
  const flush = (): Promise<void> => {
    writing = writing.then(writeQueued);
    return writing;
  };
  const flushTimer = setInterval(() => void flush(), flushEveryMs);
  flushTimer.unref();

  const prune = async (now = Date.now()): Promise<number> => {
    await db('strangler_comparison_counts').where('at', '<', now - retentionMs).delete();
    let removed = await db('strangler_comparisons').where('at', '<', now - retentionMs).delete();
    const [{ n }] = (await db('strangler_comparisons').count({ n: '*' })) as Array<{ n: number | string }>;
    const excess = Number(n) - maxRows;
    if (excess > 0) {
      // the newest id that goes: everything up to it is older than what stays
      const [cut] = await db('strangler_comparisons').select('id').orderBy('id', 'asc').offset(excess - 1).limit(1);
      removed += await db('strangler_comparisons').where('id', '<=', cut.id).delete();
    }
    if (removed > 0) logger?.info({ removed }, 'old comparisons pruned');
    return removed;
  };
  const pruneTimer = setInterval(() => void prune().catch((err) => logger?.warn({ err }, 'pruning comparisons failed')), pruneEveryMs);
  pruneTimer.unref();

  const where = (q: Knex.QueryBuilder, query: StoreQuery) => {
    if (query.route) q.where('route', query.route);
    if (query.source) q.where('source', query.source);
    if (query.since !== undefined) q.where('at', '>=', query.since);
    if (query.until !== undefined) q.where('at', '<', query.until);
    return q;
  };

  return {
    stats,
    add(record) {
      if (record.outcome === 'match' || record.outcome === 'skipped') {
        const reason = record.outcome === 'skipped' ? (record.reason ?? '').split(':')[0] : '';
        const key = `${record.route}\u0000${record.source}\u0000${record.outcome}\u0000${reason.slice(0, 40)}\u0000${Math.floor(Date.parse(record.at) / 1000)}`;
        buckets.set(key, (buckets.get(key) ?? 0) + 1);
        if (record.outcome === 'skipped' || !isMatchExampleDue(record.route)) return;
        matchExamples.set(record.route, Math.floor(Date.now() / MINUTE));
      }
      if (queue.length >= maxQueued) {
        stats.dropped++;
        const now = Date.now();
        if (now - lastDropWarning > 10_000) {
          lastDropWarning = now;
          logger?.warn({ dropped: stats.dropped, maxQueued }, 'comparison store is behind; comparisons dropped');
        }
        return;
      }
      queue.push(record);
      stats.queued = queue.length;
    },
    count(route, source, outcome, reason = '') {
      const key = `${route}\u0000${source}\u0000${outcome}\u0000${reason.slice(0, 40)}\u0000${Math.floor(Date.now() / 1000)}`;
      buckets.set(key, (buckets.get(key) ?? 0) + 1);
    },
    matchExampleDue: isMatchExampleDue,
    saveNoise(route, entries) {
      noiseQueue.set(route, entries);
    },
    flush,
    prune,
    async counts(query) {
      // kept match examples are counted in the buckets already
      const kept = await where(db('strangler_comparisons').select('route', 'outcome').whereNot('outcome', 'match').count({ n: '*' }).groupBy('route', 'outcome'), query);
      const counted = await where(db('strangler_comparison_counts').select('route', 'outcome').sum({ n: 'n' }).groupBy('route', 'outcome'), query);
      return ([...kept, ...counted] as Array<{ route: string; outcome: ComparisonOutcome; n: number | string }>).map((r) => ({ route: r.route, outcome: r.outcome, n: Number(r.n) }));
    },
    async skipReasons(query) {
      const rows = await where(db('strangler_comparison_counts').select('route', 'reason').sum({ n: 'n' }).where('outcome', 'skipped').groupBy('route', 'reason'), query);
      return (rows as Array<{ route: string; reason: string; n: number | string }>).map((r) => ({ route: r.route, reason: r.reason, n: Number(r.n) }));
    },
    async list(query) {
      const q = where(db('strangler_comparisons').select('record').orderBy('id', 'desc').limit(query.limit), query);
      if (query.outcome) q.where('outcome', query.outcome);
      return ((await q) as Array<{ record: string }>).map((r) => JSON.parse(r.record) as ComparisonRecord);
    },
    async noise(route) {
      const q = db('strangler_noise').select('route', 'entry').orderBy('count', 'desc');
      if (route) q.where('route', route);
      const out = new Map<string, NoiseEntry[]>();
      for (const row of (await q) as Array<{ route: string; entry: string }>) {
        const list = out.get(row.route) ?? [];
        list.push(JSON.parse(row.entry) as NoiseEntry);
        out.set(row.route, list);
      }
      return out;
    },
    async routes() {
      const kept = (await db('strangler_comparisons').distinct('route')) as Array<{ route: string }>;
      const counted = (await db('strangler_comparison_counts').distinct('route')) as Array<{ route: string }>;
      return [...new Set([...kept, ...counted].map((r) => r.route))].sort();
    },
    async close() {
      clearInterval(flushTimer);
      clearInterval(pruneTimer);
      await flush();
      await db.destroy();
    },
  };
}

/**
 * Several proxies open the same store at once (--workers, replicas sharing MySQL): knex lets one
 * migrate and refuses the others with a lock error; they wait for it instead of failing.
 */
export async function migrateWhenFree(db: Knex): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await migrateProxyStore(db);
      return;
    } catch (err) {
      if (attempt >= 50 || !/lock|already exists/i.test((err as Error).message)) throw err;
      await new Promise((resolve) => setTimeout(resolve, 100 + Math.random() * 100));
    }
  }
}

/** Upserts a route's noise entries; with several replicas the highest count wins. */
async function writeNoise(db: Knex, route: string, entries: readonly NoiseEntry[]): Promise<void> {
  const now = Date.now();
  for (const e of entries) {
    const row = { route, kind: e.kind, pattern: e.pattern, count: e.count, entry: JSON.stringify(e), updated_at: now };
    const existing = await db('strangler_noise').where({ route, kind: e.kind, pattern: e.pattern }).first('count');
    if (!existing) await db('strangler_noise').insert(row);
    else if (Number(existing.count) <= e.count) await db('strangler_noise').where({ route, kind: e.kind, pattern: e.pattern }).update(row);
  }
}
