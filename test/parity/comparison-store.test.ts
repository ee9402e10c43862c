import path from 'node:path';
import t, { type Test } from 'tap';
import { openComparisonStore, type ComparisonStore } from '../../proxy/parity/comparison-store.ts';
import { buildStoredParityReport } from '../../proxy/parity/build-parity-report.ts';
import type { ComparisonRecord } from '../../proxy/parity/records.ts';
import type { ComparisonOutcome } from '../../proxy/comparison/types.ts';
import { createDb } from '../../services/shared/database.ts';
import { migrateProxyStore } from '../../migrations/migrate.ts';
import { createTestDatabase, mysqlSkipReason } from '../helpers/mysql.ts';

const HOUR = 3_600_000;

function record(route: string, outcome: ComparisonOutcome, at: number, differences: ComparisonRecord['differences'] = []): ComparisonRecord {
  return {
    at: new Date(at).toISOString(),
    route,
    source: 'shadow',
    outcome,
    primary: 'legacy',
    service: 'rooms',
    request: { method: 'GET', url: `/api/rooms/${at % 1000}`, headers: {} },
    differences,
    noise: [],
  };
}

async function open(t: Test, url: string, options: { retentionMs?: number; maxRows?: number; maxQueued?: number } = {}): Promise<ComparisonStore> {
  // one database per backend: every subtest starts from empty tables
  const db = createDb(url);
  await migrateProxyStore(db);
  await db('strangler_comparisons').delete();
  await db('strangler_noise').delete();
  await db('strangler_comparison_counts').delete();
  const store = await openComparisonStore(db, { retentionMs: options.retentionMs ?? 24 * HOUR, maxRows: options.maxRows ?? 1000, maxQueued: options.maxQueued });
  t.teardown(() => store.close());
  return store;
}

async function behaviour(t: Test, url: string) {
  t.test('parity per route is one number over a window, with the top differing paths', async (t) => {
    const store = await open(t, url);
    const now = Date.now();
    for (let i = 0; i < 8; i++) store.add(record('rooms-get', 'match', now - i * 1000));
    store.add(record('rooms-get', 'mismatch', now - 100, [{ path: '$.data[3].owner', kind: 'missing', primary: { id: 1 } }]));
    store.add(record('rooms-get', 'candidate-error', now - 200));
    store.add(record('rooms-get', 'skipped', now - 300));
    store.add(record('rooms-get', 'mismatch', now - 2 * HOUR, [{ path: '$.x', kind: 'changed', primary: 1, candidate: 2 }]));
    store.add(record('rooms-list', 'match', now));
    await store.flush();
    const report = await buildStoredParityReport(store, { since: now - HOUR });
    const get = report.routes.find((r) => r.route === 'rooms-get')!;
    t.match(get, { matches: 8, mismatches: 1, candidateErrors: 1, skipped: 1, compared: 10, parity: 80 });
    t.match(get.topDifferences, [{ pattern: '$.data[*].owner', count: 1, example: { path: '$.data[3].owner' } }]);
    t.equal(report.routes.find((r) => r.route === 'rooms-list')!.parity, 100);
    const examples = await store.list({ outcome: 'match', limit: 100 });
    t.same(examples.map((r) => r.route).sort(), ['rooms-get', 'rooms-list'], 'one match per route and minute is kept whole as an example (and counted once)');
  });

  t.test('a mismatch made only of noise learned later counts as a match', async (t) => {
    const store = await open(t, url);
    const now = Date.now();
    store.add(record('r', 'mismatch', now, [{ path: '$.generated_at', kind: 'changed', primary: 'a', candidate: 'b' }]));
    store.add(record('r', 'mismatch', now, [{ path: '$.generated_at', kind: 'changed' }, { path: '$.name', kind: 'changed', primary: 'x', candidate: 'y' }]));
    store.saveNoise('r', [{ pattern: '$.generated_at', kind: 'value', count: 3, example: { path: '$.generated_at', first: 'a', second: 'b' }, suggestion: 'ignore: ["$.generated_at"]' }]);
    await store.flush();
    const [r] = (await buildStoredParityReport(store, { since: now - HOUR })).routes;
    t.match(r, { matches: 1, mismatches: 1, parity: 50 });
    t.same(r.topDifferences.map((d) => d.pattern), ['$.name'], 'noise is never listed as a difference');
    t.same(r.noise.map((n) => n.pattern), ['$.generated_at']);
  });

  t.test('retention: older than the limit, and beyond maxRows, are deleted oldest first', async (t) => {
    const store = await open(t, url, { retentionMs: HOUR, maxRows: 5 });
    const now = Date.now();
    store.add(record('r', 'mismatch', now - 2 * HOUR));
    for (let i = 0; i < 8; i++) store.add(record('r', 'mismatch', now - (8 - i) * 1000));
    store.add(record('r', 'match', now - 2 * HOUR));
    store.add(record('r', 'match', now));
    await store.flush();
    const removed = await store.prune(now);
    t.same(await store.counts({ outcome: 'match' } as never), [{ route: 'r', outcome: 'mismatch', n: 5 }, { route: 'r', outcome: 'match', n: 1 }], 'counted matches expire too');
    t.equal(removed, 5, 'two too old (a mismatch and the kept match example), three beyond maxRows');
    const left = await store.list({ limit: 100 });
    t.equal(left.length, 5);
    t.same(left.map((r) => Date.parse(r.at)), [1, 2, 3, 4, 5].map((i) => now - i * 1000), 'the newest stay');
  });

  t.test('the write queue is bounded: excess comparisons are dropped and counted', async (t) => {
    const store = await open(t, url, { maxQueued: 3 });
    for (let i = 0; i < 10; i++) store.add(record('r', 'mismatch', Date.now()));
    for (let i = 0; i < 1000; i++) store.add(record('r', 'match', Date.now()));
    t.equal(store.stats.dropped, 8, 'whole records beyond the queue bound are dropped (7 mismatches, the match example)');
    await store.flush();
    t.equal((await store.list({ limit: 100 })).length, 3);
    t.same((await store.counts({})).find((c) => c.outcome === 'match')?.n, 1000, 'matches are counted, never dropped');
  });
}

t.test('several proxies opening one fresh store at once all get it (--workers, replicas)', async (t) => {
  const url = `sqlite:${path.join(t.testdir(), 'shared.sqlite')}`;
  const stores = await Promise.all(Array.from({ length: 4 }, () => openComparisonStore(createDb(url), { retentionMs: HOUR, maxRows: 100 })));
  t.teardown(() => Promise.all(stores.map((s) => s.close())));
  stores.forEach((s, i) => s.add(record('r', 'mismatch', Date.now() + i)));
  await Promise.all(stores.map((s) => s.flush()));
  t.equal((await stores[0].list({ limit: 10 })).length, 4, 'every process writes to the one store');
});

t.test('SQLite', async (t) => {
  await behaviour(t, `sqlite:${path.join(t.testdir(), 'comparisons.sqlite')}`);
});

t.test('MySQL/MariaDB', { skip: mysqlSkipReason }, async (t) => {
  const db = await createTestDatabase('store');
  t.teardown(() => db.drop());
  await behaviour(t, db.url);
});
