import type http from 'node:http';
import path from 'node:path';
import t, { type Test } from 'tap';
import type { RunningProxy } from '../../proxy/cli/run-proxy.ts';
import { runProxyWithAdmin } from '../helpers/admin-proxy.ts';
import { writeFlagsFile } from '../../proxy/flags/flags-file.ts';
import { runCli } from '../helpers/cli.ts';
import { eventually, request, startUpstream } from '../helpers/http.ts';

const OPERATOR = 'op-token-0123456789abcdef';

/** A proxy with an admin API and one route with a short rollout plan, under a steady GET load. */
async function setup(
  t: Test,
  service: (req: http.IncomingMessage, res: http.ServerResponse) => void,
  { routeExtra = '', plan = '', load: withLoad = true }: { routeExtra?: string; plan?: string; load?: boolean } = {},
) {
  const dir = t.testdir();
  const legacy = await startUpstream('legacy', (req, res) => {
    req.resume();
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{"room":1}');
  });
  const rooms = await startUpstream('rooms', service);
  t.teardown(async () => {
    await legacy.close();
    await rooms.close();
  });
  const configFile = path.join(dir, 'routes.yaml');
  await writeFlagsFile(path.join(dir, 'flags.json'), { version: 2, features: [] });
  const running: RunningProxy = await runProxyWithAdmin(
    configFile,
    (adminPort) => `listen: 127.0.0.1:0
legacy: ${legacy.url}
services:
  rooms: ${rooms.url}
flags:
  file: flags.json
comparisons:
  database: sqlite:strangler.sqlite
breaker:
  failures: 1000
admin:
  listen: 127.0.0.1:${adminPort}
  operatorToken: ${OPERATOR}
routes:
  - name: rooms-get
    match: GET /api/rooms/:id
    service: rooms${routeExtra}
    rollout:
      steps: [10, 50, 100]
      interval: 400ms
      minRequests: 20
      maxErrorRate: 1%${plan}
`,
  );
  let stop = !withLoad;
  /** what the load's clients saw: a status, or the transport error's code */
  const statuses: Array<number | string> = [];
  const load = (async () => {
    for (let i = 0; !stop; i++) {
      await Promise.all(
        Array.from({ length: 4 }, (_, j) =>
          request(`${running.url}/api/rooms/1`, { headers: { 'x-user-id': `user-${i}-${j}` } }).then(
            (res) => void statuses.push(res.status),
            (err: NodeJS.ErrnoException) => void statuses.push(err.code ?? 'error'),
          ),
        ),
      );
    }
  })();
  t.teardown(async () => {
    stop = true;
    await load;
    await running.stop();
  });
  const cli = (...args: string[]) => runCli([...args, '--config', configFile]);
  const state = () => running.admin!.rollouts.state('rooms-get');
  return { running, cli, state, statuses };
}

const healthy = (req: http.IncomingMessage, res: http.ServerResponse) => {
  req.resume();
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end('{"room":1}');
};

t.test('a healthy service: promote walks the plan to 100 %, each step in the audit log', async (t) => {
  const { cli, state } = await setup(t, healthy);
  const promoted = await cli('promote', 'rooms-get', '--reason', 'parity 100 % for a week');
  t.equal(promoted.code, 0, promoted.stderr);
  t.match(promoted.stdout, /rooms-get: 0 % → 10 %/);
  const done = await eventually(async () => ((await state())?.status === 'done' ? state() : undefined), { timeoutMs: 20_000, intervalMs: 100 });
  t.equal(done!.step, 2);
  t.match(done!.reason, /step 3\/3 \(100 %\) held/);
  const audit = JSON.parse((await cli('audit', '--json')).stdout);
  t.same(
    audit.map((e: any) => `${e.actor.token} ${e.change.action} ${e.change.to.share}`),
    ['rollout shift 100', 'rollout shift 50', 'operator promote 10'],
    'each step is an audited change, the automatic ones by the rollout',
  );
  t.match(audit[0].reason, /rollout advanced: step 2\/3 \(50 %\) held for \d+ s over \d+ requests: 5xx 0\.00 %/);
  const status = await cli('status');
  t.match(status.stdout, /rooms-get\s+canary\s+100 %.*done 3\/3: step 3\/3 \(100 %\) held/);
});

t.test('a service answering 5 % 500s: rolled back to 0 % at once, the failing gate recorded; clients never saw a 500', async (t) => {
  let n = 0;
  const { cli, state, statuses } = await setup(t, (req, res) => {
    req.resume();
    const fail = ++n % 20 === 0;
    res.writeHead(fail ? 500 : 200, { 'content-type': 'application/json' });
    res.end(fail ? '{"error":"boom"}' : '{"room":1}');
  });
  t.equal((await cli('promote', 'rooms-get', '--reason', 'try it')).code, 0);
  const rolled = await eventually(async () => ((await state())?.status === 'rolled-back' ? state() : undefined), { timeoutMs: 20_000, intervalMs: 100 });
  t.match(rolled!.reason, /service 5xx rate \d+\.\d+ % \(legacy 0\.00 %\) over \d+ requests exceeds maxErrorRate 1\.00 %/);
  const audit = JSON.parse((await cli('audit', '--json')).stdout);
  t.match(audit[0], { actor: { token: 'rollout' }, change: { action: 'rollback', to: { share: 0 } }, reason: /rollout rolled back at step \d\/3 .*exceeds maxErrorRate/ });
  t.match((await cli('status')).stdout, /rooms-get\s+canary\s+0 %/);
  t.ok(n >= 20, `the service answered 500 to some of its ${n} requests`);
  t.ok(statuses.length > 0, `the load ran (${statuses.length} requests)`);
  t.same([...new Set(statuses)], [200], 'every client got a 200: a GET the service failed was answered by legacy');
});

t.test('a parity drop below minParity rolls back too', async (t) => {
  const { cli, state } = await setup(
    t,
    (req, res) => {
      req.resume();
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"room":2}');
    },
    { routeExtra: '\n    shadow: { reverse: true, noiseWarmup: 0, noiseSample: 0% }', plan: '\n      minParity: 99%' },
  );
  t.equal((await cli('promote', 'rooms-get', '--reason', 'try it')).code, 0);
  const rolled = await eventually(async () => ((await state())?.status === 'rolled-back' ? state() : undefined), { timeoutMs: 20_000, intervalMs: 100 });
  t.match(rolled!.reason, /parity 0\.00 % over \d+ comparisons is below minParity 99 %/);
  t.match((await cli('status')).stdout, /rooms-get\s+canary\s+0 %/, 'status shows the route back at 0 %');
  const audit = JSON.parse((await cli('audit', '--json')).stdout);
  t.match(audit[0], { actor: { token: 'rollout' }, change: { action: 'rollback', to: { share: 0 } }, reason: /rollout rolled back at step 1\/3 \(10 %\): parity .* below minParity 99 %/ });
});

t.test('a slow service over maxP99: rolled back, the p99 gate named', async (t) => {
  const { cli, state } = await setup(
    t,
    (req, res) => {
      req.resume();
      setTimeout(() => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{"room":1}');
      }, 60);
    },
    { plan: '\n      maxP99: 30ms' },
  );
  t.equal((await cli('promote', 'rooms-get', '--reason', 'try it')).code, 0);
  const rolled = await eventually(async () => ((await state())?.status === 'rolled-back' ? state() : undefined), { timeoutMs: 20_000, intervalMs: 100 });
  t.match(rolled!.reason, /service p99 \d+ ms over \d+ requests exceeds maxP99 30 ms/);
  const audit = JSON.parse((await cli('audit', '--json')).stdout);
  t.match(audit[0], { actor: { token: 'rollout' }, change: { action: 'rollback', to: { share: 0 } }, reason: /exceeds maxP99 30 ms/ });
  t.match((await cli('status')).stdout, /rooms-get\s+canary\s+0 %/);
});

t.test('below minRequests the plan waits for traffic: the share stays where it is', async (t) => {
  const { cli, state } = await setup(t, healthy, { load: false });
  t.equal((await cli('promote', 'rooms-get', '--reason', 'quiet hours')).code, 0);
  // the interval (400 ms) passes with no traffic: the judgement says why it does not advance
  const waiting = await eventually(async () => {
    const s = await state();
    return s?.reason.startsWith('waiting for traffic') ? s : undefined;
  }, { timeoutMs: 10_000, intervalMs: 100 });
  t.match(waiting, { status: 'running', step: 0, reason: 'waiting for traffic: 0 of 20 service requests at 10 %' });
  const status = await cli('status');
  t.match(status.stdout, /rooms-get\s+canary\s+10 %.*running 1\/3: waiting for traffic: 0 of 20 service requests at 10 %/, 'status says so, at the first step');
  const audit = JSON.parse((await cli('audit', '--json')).stdout);
  t.equal(audit.length, 1, 'nothing changed after the promote');
});

t.test('an operator change during a plan stops it', async (t) => {
  const { cli, state } = await setup(t, healthy);
  t.equal((await cli('promote', 'rooms-get')).code, 0);
  t.equal((await cli('rollback', 'rooms-get', '--reason', 'not today')).code, 0);
  t.match(await state(), { status: 'stopped', reason: /stopped by an operator's rollback: not today/ });
});
