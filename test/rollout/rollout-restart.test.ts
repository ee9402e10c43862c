import { spawn } from 'node:child_process';
import path from 'node:path';
import t from 'tap';
import { writeFlagsFile } from '../../proxy/flags/flags-file.ts';
import { runProxyWithAdmin } from '../helpers/admin-proxy.ts';
import { BIN, runCli } from '../helpers/cli.ts';
import { eventually, request, startUpstream } from '../helpers/http.ts';

const OPERATOR = 'op-token-0123456789abcdef';

/** Four concurrent GETs at a time, each from another user, until stopped. */
function steadyLoad(url: string) {
  let stop = false;
  const done = (async () => {
    for (let i = 0; !stop; i++) {
      await Promise.all(Array.from({ length: 4 }, (_, j) => request(`${url}/api/rooms/1`, { headers: { 'x-user-id': `user-${i}-${j}` } }).catch(() => null)));
    }
  })();
  return async () => {
    stop = true;
    await done;
  };
}

t.test('a proxy stopped mid-plan: another proxy on the same database takes the plan over and finishes it', async (t) => {
  const legacy = await startUpstream('legacy');
  const rooms = await startUpstream('rooms');
  t.teardown(() => Promise.all([legacy.close(), rooms.close()]));
  const dir = t.testdir();
  const configFile = path.join(dir, 'routes.yaml');
  await writeFlagsFile(path.join(dir, 'flags.json'), { version: 2, features: [] });
  let adminUrl = '';
  const first = await runProxyWithAdmin(configFile, (adminPort) => {
    adminUrl = `http://127.0.0.1:${adminPort}`;
    return `listen: 127.0.0.1:0
legacy: ${legacy.url}
services:
  rooms: ${rooms.url}
flags:
  file: flags.json
comparisons:
  database: sqlite:strangler.sqlite
admin:
  listen: 127.0.0.1:${adminPort}
  operatorToken: ${OPERATOR}
routes:
  - name: rooms-get
    match: GET /api/rooms/:id
    service: rooms
    rollout:
      steps: [10, 50, 100]
      interval: 400ms
      minRequests: 20
      maxErrorRate: 1%
`;
  });
  let stopFirst = steadyLoad(first.url);
  t.teardown(async () => {
    await stopFirst();
    await first.stop();
  });
  const promoted = await runCli(['promote', 'rooms-get', '--reason', 'before the restart', '--config', configFile]);
  t.equal(promoted.code, 0, promoted.stderr);
  await eventually(async () => (await first.admin!.rollouts.state('rooms-get'))?.step === 1, { timeoutMs: 20_000, intervalMs: 50 });
  await stopFirst();
  stopFirst = async () => {};
  await first.stop();
  t.pass('the first proxy stopped at step 2/3 (50 %)');
  const t0 = Date.now();

  const child = spawn(process.execPath, [BIN, 'proxy', '--config', configFile], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  child.stdout.on('data', (d) => (stdout += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  t.teardown(() => void child.kill('SIGKILL'));
  const listening = await eventually(() => stdout.split('\n').find((l) => l.includes('"msg":"proxy listening"')), { timeoutMs: 20_000 });
  await eventually(() => stdout.includes('"msg":"admin API listening"'), { timeoutMs: 20_000 });
  const stopSecond = steadyLoad(JSON.parse(listening).url);
  t.teardown(stopSecond);

  const rollout = async () => {
    const res = await fetch(`${adminUrl}/routes`, { headers: { authorization: `Bearer ${OPERATOR}` } });
    return ((await res.json()) as { routes: Array<{ name: string; share: number; rollout?: { status: string; step: number } }> }).routes[0];
  };
  t.match(await rollout(), { share: 50, rollout: { status: 'running', step: 2 } }, 'the new proxy reads the plan where the first left it');
  const done = await eventually(async () => {
    const route = await rollout();
    return route.rollout?.status === 'done' ? route : undefined;
  }, { timeoutMs: 30_000, intervalMs: 100 });
  t.match(done, { share: 100, rollout: { step: 3 } }, 'and walks it to the end');
  t.comment(`done ${Date.now() - t0} ms after the restart`);
  const audit = JSON.parse((await runCli(['audit', '--json', '--config', configFile])).stdout);
  t.same(
    audit.map((e: any) => `${e.actor.token} ${e.change.action} ${e.change.to.share}`),
    ['rollout shift 100', 'rollout shift 50', 'operator promote 10'],
    'each step once, whichever proxy made it',
  );

  await stopSecond();
  child.kill('SIGTERM');
  t.equal(await exited, 0);
});
