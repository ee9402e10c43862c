import path from 'node:path';
import pino from 'pino';
import t, { type Test } from 'tap';
import type { Change, RouteController } from '../../proxy/admin/route-controller.ts';
import { validateConfig } from '../../proxy/config/validate-config.ts';
import { migrateWhenFree } from '../../proxy/parity/comparison-store.ts';
import { createRolloutDriver } from '../../proxy/rollout/rollout-driver.ts';
import { createStepStats } from '../../proxy/rollout/step-stats.ts';
import { createProxyMetrics } from '../../proxy/metrics/proxy-metrics.ts';
import { createDb } from '../../services/shared/database.ts';

const CONFIG = validateConfig(
  `legacy: http://127.0.0.1:1
services:
  rooms: http://127.0.0.1:2
routes:
  - name: rooms-get
    match: GET /api/rooms/:id
    service: rooms
    rollout: { steps: [10, 100], interval: 1s, minRequests: 5, maxErrorRate: 1% }
`,
  '/routes.yaml',
  {},
).config!;

/** A controller that only records what the driver asked (a fake is fine inside this unit test). */
function recordingController() {
  const calls: string[] = [];
  const change = (route: string, action: Change['action'], share: number): Change => ({ route, action, from: { share: 0, enabled: true }, to: { share, enabled: true } });
  const controller: RouteController = {
    list: async () => [],
    shift: async (route, percent) => (calls.push(`shift ${percent}`), change(route, 'shift', percent)),
    rollback: async (route) => (calls.push('rollback'), change(route, 'rollback', 0)),
    promote: async (route) => (calls.push('promote'), change(route, 'promote', 100)),
  };
  return { controller, calls };
}

async function database(t: Test) {
  const url = `sqlite:${path.join(t.testdir(), 'strangler.sqlite')}`;
  const open = async () => {
    const db = createDb(url);
    await migrateWhenFree(db);
    t.teardown(() => db.destroy());
    return db;
  };
  return open;
}

function driverOn(db: Awaited<ReturnType<Awaited<ReturnType<typeof database>>>>, holder: string) {
  const { controller, calls } = recordingController();
  const stats = createStepStats();
  const driver = createRolloutDriver({ db, config: () => CONFIG, controller, audit: { append: async () => {} }, stats, store: () => null, logger: pino({ level: 'silent' }), holder, tickMs: 60_000 });
  return { driver, calls, stats };
}

const healthyStep = (stats: ReturnType<typeof createStepStats>) => {
  for (let i = 0; i < 10; i++) stats.record('rooms-get', 'rooms', 200, 5);
};

t.test('rollout state survives a restart: a new proxy resumes the plan where it was', async (t) => {
  const open = await database(t);
  const first = driverOn(await open(), 'proxy-a');
  t.teardown(() => first.driver.close());
  await first.driver.start('rooms-get', { token: 'operator' }, 'go');
  t.same(first.calls, ['shift 10']);
  first.driver.close(); // the proxy stops

  const second = driverOn(await open(), 'proxy-b');
  t.teardown(() => second.driver.close());
  healthyStep(second.stats);
  const state = (await second.driver.state('rooms-get'))!;
  t.match(state, { status: 'running', step: 0 }, 'the plan is still running after the restart');
  await second.driver.tick(state.stepStartedAt + 5000);
  t.same(second.calls, ['shift 100'], 'the resumed plan advances');
  healthyStep(second.stats);
  await second.driver.tick(state.stepStartedAt + 62_000);
  t.match(await second.driver.state('rooms-get'), { status: 'done', step: 1 });
});

t.test('with several replicas on one database, one drives the plan', async (t) => {
  const open = await database(t);
  const replicas = [driverOn(await open(), 'replica-1'), driverOn(await open(), 'replica-2'), driverOn(await open(), 'replica-3')];
  for (const r of replicas) t.teardown(() => r.driver.close());
  await replicas[0].driver.start('rooms-get', { token: 'operator' }, 'go');
  const started = (await replicas[0].driver.state('rooms-get'))!.stepStartedAt;
  for (const r of replicas) healthyStep(r.stats);
  await Promise.all(replicas.map((r) => r.driver.tick(started + 5000)));
  const shifts = replicas.map((r) => r.calls.filter((c) => c === 'shift 100').length);
  t.same(shifts.reduce((a, b) => a + b, 0), 1, `exactly one replica advanced the plan (${shifts})`);
  t.match(await replicas[1].driver.state('rooms-get'), { step: 1 }, 'and every replica sees the new step');
});

t.test('when the replica driving a plan stops, another takes the lease over once it expires and advances', async (t) => {
  const open = await database(t);
  const config = validateConfig(
    `legacy: http://127.0.0.1:1
services:
  rooms: http://127.0.0.1:2
routes:
  - name: rooms-get
    match: GET /api/rooms/:id
    service: rooms
    rollout: { steps: [10, 50, 100], interval: 1s, minRequests: 5, maxErrorRate: 1% }
`,
    '/routes.yaml',
    {},
  ).config!;
  const tickMs = 1000;
  const replica = async (holder: string) => {
    const { controller, calls } = recordingController();
    const stats = createStepStats();
    const driver = createRolloutDriver({ db: await open(), config: () => config, controller, audit: { append: async () => {} }, stats, store: () => null, logger: pino({ level: 'silent' }), holder, tickMs });
    t.teardown(() => driver.close());
    return { driver, calls, stats };
  };
  const leader = await replica('replica-1');
  const follower = await replica('replica-2');
  await leader.driver.start('rooms-get', { token: 'operator' }, 'go');
  const started = (await leader.driver.state('rooms-get'))!.stepStartedAt;

  healthyStep(leader.stats);
  healthyStep(follower.stats);
  const led = started + 2000;
  await leader.driver.tick(led);
  t.same(leader.calls, ['shift 10', 'shift 50'], 'the first replica leads and advances');
  leader.driver.close(); // it stops without a word

  healthyStep(follower.stats);
  const leaseMs = 3 * tickMs; // the driver's lease: three ticks, at least 3 s
  await follower.driver.tick(led + leaseMs - 100);
  t.same(follower.calls, [], 'the step held long enough, but the stopped leader still holds the lease until it expires');
  await follower.driver.tick(led + leaseMs + 100);
  t.same(follower.calls, ['shift 100'], 'once it expires, the other replica takes over and advances');
  t.match(await follower.driver.state('rooms-get'), { step: 2, status: 'running' });
});

t.test('every replica shows the plan\'s step in strangler_rollout_step, not only the one driving it', async (t) => {
  const open = await database(t);
  const leader = driverOn(await open(), 'replica-1');
  t.teardown(() => leader.driver.close());
  const metrics = createProxyMetrics({ collectProcess: false });
  const { controller } = recordingController();
  const follower = createRolloutDriver({ db: await open(), config: () => CONFIG, controller, audit: { append: async () => {} }, stats: createStepStats(), store: () => null, logger: pino({ level: 'silent' }), holder: 'replica-2', tickMs: 60_000, metrics });
  t.teardown(() => follower.close());
  const step = async () => /strangler_rollout_step\{route="rooms-get"\} (\d+)/.exec(await metrics.render())?.[1];

  await leader.driver.start('rooms-get', { token: 'operator' }, 'go');
  const started = (await leader.driver.state('rooms-get'))!.stepStartedAt;
  await leader.driver.tick(started + 10); // takes the lease
  await follower.tick(started + 20);
  t.equal(await step(), '1', 'the follower shows step 1 of the running plan');
  healthyStep(leader.stats);
  await leader.driver.tick(started + 5000);
  await follower.tick(started + 5010);
  t.equal(await step(), '2', 'and follows the leader to step 2');
  await follower.stop('rooms-get', 'an operator took over');
  await follower.tick(started + 5020);
  t.equal(await step(), '0', 'a stopped plan shows 0');
});
