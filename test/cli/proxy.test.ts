import { spawn } from 'node:child_process';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import t, { type Test } from 'tap';
import { rolloutFeature, writeFlagsFile } from '../../proxy/flags/flags-file.ts';
import { BIN } from '../helpers/cli.ts';
import { closedPort, eventually, request, startUpstream } from '../helpers/http.ts';

/** The real binary as a child process, its JSON log lines parsed as they come. */
function spawnProxy(t: Test, args: string[], { detached = false } = {}) {
  const child = spawn(process.execPath, [BIN, 'proxy', ...args], { stdio: ['ignore', 'pipe', 'pipe'], detached });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  t.teardown(() => void child.kill('SIGKILL'));
  const lines = (msg: string) =>
    stdout
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l))
      .filter((l) => l.msg === msg);
  return { child, exited, lines, stderr: () => stderr };
}

/**
 * routes.yaml as a symlink to a file in another directory (as a Kubernetes ConfigMap mounts it):
 * the proxy watches the link's directory, so an edit of the target is seen only through SIGHUP.
 */
/**
 * `--workers 2` in front of a legacy whose /slow answers only when released, with one /slow
 * request in flight once this returns.
 */
async function workersWithRequestInFlight(t: Test, spawnOptions: { detached?: boolean } = {}) {
  let releaseSlow: (() => void) | undefined;
  const legacy = await startUpstream('legacy', (req, res) => {
    req.resume();
    if (req.url === '/slow') releaseSlow = () => res.end('slow done');
    else res.end('legacy');
  });
  t.teardown(() => legacy.close());
  const dir = t.testdir();
  const config = path.join(dir, 'routes.yaml');
  await writeFile(config, `legacy: ${legacy.url}\nroutes: []\n`);
  const port = await closedPort();
  const proxy = spawnProxy(t, ['--config', config, '--listen', `127.0.0.1:${port}`, '--workers', '2'], spawnOptions);
  if (spawnOptions.detached) t.teardown(() => void (proxy.child.exitCode === null && process.kill(-proxy.child.pid!, 'SIGKILL')));
  await eventually(() => proxy.lines('proxy listening').length === 2, { timeoutMs: 30_000 });
  const slow = request(`http://127.0.0.1:${port}/slow`);
  await eventually(() => releaseSlow);
  return { proxy, port, slow, release: () => releaseSlow!() };
}

async function linkedConfig(t: Test) {
  const dir = t.testdir();
  await mkdir(path.join(dir, 'real'));
  const target = path.join(dir, 'real', 'routes.yaml');
  const file = path.join(dir, 'routes.yaml');
  await writeFile(target, '');
  await symlink(target, file);
  return { dir, file, write: (text: string) => writeFile(target, text) };
}

const roomsConfig = (legacy: string, rooms: string, flags: string, extra = '') =>
  `legacy: ${legacy}\nservices:\n  rooms: ${rooms}\nflags:\n  file: ${flags}\nroutes:\n  - name: rooms-get\n    match: GET /api/rooms/:id\n    service: rooms\n${extra}`;
const roomsList = `  - name: rooms-list\n    match: GET /api/rooms\n    service: rooms\n`;

t.test('strangler proxy serves the config, logs JSON lines, and stops cleanly on SIGTERM', async (t) => {
  const legacy = await startUpstream('legacy');
  t.teardown(() => legacy.close());
  const dir = t.testdir();
  const config = path.join(dir, 'routes.yaml');
  await writeFile(config, `legacy: ${legacy.url}\nroutes: []\n`);
  const port = await closedPort();
  const child = spawn(process.execPath, [BIN, 'proxy', '--config', config, '--listen', `127.0.0.1:${port}`], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  child.stdout.on('data', (d) => (stdout += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  t.teardown(() => void child.kill('SIGKILL'));

  await eventually(() => stdout.includes('"msg":"proxy listening"'), { timeoutMs: 20_000 });
  const res = await request(`http://127.0.0.1:${port}/hello?x=1`);
  t.equal(res.json().upstream, 'legacy');
  await eventually(() => stdout.includes('"msg":"request completed"'));
  const line = stdout.split('\n').map((l) => (l ? JSON.parse(l) : {})).find((l) => l.msg === 'request completed');
  t.match(line, { url: '/hello?x=1', route: null, target: 'legacy', reason: 'unmatched', status: 200 });
  child.kill('SIGTERM');
  t.equal(await exited, 0);
  t.match(stdout, /"msg":"proxy stopping"/);
});

t.test('strangler proxy --workers 2 serves from two processes on one address and stops them all', async (t) => {
  const legacy = await startUpstream('legacy', (req, res) => res.end(JSON.stringify({ pid: req.headers['x-forwarded-for'] })));
  t.teardown(() => legacy.close());
  const dir = t.testdir();
  const config = path.join(dir, 'routes.yaml');
  await writeFile(config, `legacy: ${legacy.url}\nroutes: []\n`);
  const port = await closedPort();
  const child = spawn(process.execPath, [BIN, 'proxy', '--config', config, '--listen', `127.0.0.1:${port}`, '--workers', '2'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  child.stdout.on('data', (d) => (stdout += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  t.teardown(() => void child.kill('SIGKILL'));

  await eventually(() => stdout.split('"msg":"proxy listening"').length - 1 === 2, { timeoutMs: 30_000 });
  const pids = new Set(stdout.split('\n').filter((l) => l.includes('"msg":"proxy listening"')).map((l) => JSON.parse(l).pid));
  t.equal(pids.size, 2, 'two worker processes listen');
  const res = await request(`http://127.0.0.1:${port}/`);
  t.equal(res.status, 200);
  child.kill('SIGTERM');
  t.equal(await exited, 0);
  await t.rejects(request(`http://127.0.0.1:${port}/`), 'nothing listens after the stop');
});

t.test('SIGHUP reloads routes.yaml in a single proxy: the new route applies (an edit the file watcher cannot see)', async (t) => {
  const legacy = await startUpstream('legacy');
  const rooms = await startUpstream('rooms');
  t.teardown(() => Promise.all([legacy.close(), rooms.close()]));
  const config = await linkedConfig(t);
  const flags = path.join(config.dir, 'flags.json');
  await writeFlagsFile(flags, { version: 2, features: [rolloutFeature('rooms-get', 100), rolloutFeature('rooms-list', 100)] });
  await config.write(roomsConfig(legacy.url, rooms.url, flags));
  const port = await closedPort();
  const proxy = spawnProxy(t, ['--config', config.file, '--listen', `127.0.0.1:${port}`]);
  await eventually(() => proxy.lines('proxy listening').length === 1, { timeoutMs: 20_000 });
  const upstreamOf = async (p: string) => (await request(`http://127.0.0.1:${port}${p}`)).json().upstream;
  t.equal(await upstreamOf('/api/rooms/1'), 'rooms', 'the route of the first config');
  t.equal(await upstreamOf('/api/rooms'), 'legacy', 'no route for the list yet');

  await config.write(roomsConfig(legacy.url, rooms.url, flags, roomsList));
  proxy.child.kill('SIGHUP');
  await eventually(() => proxy.lines('config applied').length === 1, { timeoutMs: 10_000 });
  t.equal(await upstreamOf('/api/rooms'), 'rooms', 'the route added by the edit applies');
  t.equal(proxy.lines('config reload requested')[0].signal, 'SIGHUP', 'the reload came from the signal');
  t.equal(proxy.child.exitCode, null, 'the proxy is still running');

  proxy.child.kill('SIGTERM');
  t.same(await proxy.exited, { code: 0, signal: null });
});

t.test('strangler proxy --workers 2: SIGHUP reloads every worker, the primary stays up', async (t) => {
  const legacy = await startUpstream('legacy');
  const rooms = await startUpstream('rooms');
  t.teardown(() => Promise.all([legacy.close(), rooms.close()]));
  const config = await linkedConfig(t);
  const flags = path.join(config.dir, 'flags.json');
  await writeFlagsFile(flags, { version: 2, features: [rolloutFeature('rooms-get', 100), rolloutFeature('rooms-list', 100)] });
  await config.write(roomsConfig(legacy.url, rooms.url, flags));
  const port = await closedPort();
  const proxy = spawnProxy(t, ['--config', config.file, '--listen', `127.0.0.1:${port}`, '--workers', '2']);
  await eventually(() => proxy.lines('proxy listening').length === 2, { timeoutMs: 30_000 });
  const workers = new Set(proxy.lines('proxy listening').map((l) => l.pid));
  const upstreamOf = async (p: string) => (await request(`http://127.0.0.1:${port}${p}`)).json().upstream;
  // fresh connections: the primary hands them to the workers in turn
  const answers = await Promise.all(Array.from({ length: 6 }, () => upstreamOf('/api/rooms/1')));
  t.same([...new Set(answers)], ['rooms'], 'a matched route goes to its service from every worker');
  t.equal(await upstreamOf('/api/rooms'), 'legacy', 'no route for the list yet');

  await config.write(roomsConfig(legacy.url, rooms.url, flags, roomsList));
  proxy.child.kill('SIGHUP');
  await eventually(() => new Set(proxy.lines('config applied').map((l) => l.pid)).size === 2, { timeoutMs: 10_000 });
  t.same(new Set(proxy.lines('config applied').map((l) => l.pid)), workers, 'both workers applied the new config');
  const after = await Promise.all(Array.from({ length: 6 }, () => upstreamOf('/api/rooms')));
  t.same([...new Set(after)], ['rooms'], 'the new route applies on every worker');
  t.equal(proxy.child.exitCode, null, 'the primary is still running');
  t.equal(proxy.lines('proxy worker died, starting another').length, 0, 'no worker died');

  proxy.child.kill('SIGTERM');
  t.same(await proxy.exited, { code: 0, signal: null });
});

t.test('strangler proxy --workers 2: SIGTERM lets a request in flight finish, then exits 0', async (t) => {
  const { proxy, port, slow, release } = await workersWithRequestInFlight(t);
  proxy.child.kill('SIGTERM');
  // the primary and both workers say so; the request is still in flight
  await eventually(() => proxy.lines('proxy stopping').length === 3, { timeoutMs: 10_000 });
  await eventually(async () => !(await request(`http://127.0.0.1:${port}/`).then(() => true, () => false)), { timeoutMs: 10_000 });
  t.pass('new connections are refused while draining');
  release();
  const finished = await slow;
  t.equal(finished.status, 200);
  t.equal(finished.text, 'slow done', 'the request in flight completed');
  t.same(await proxy.exited, { code: 0, signal: null });
});

t.test('strangler proxy --workers 2: Ctrl-C (SIGINT to the whole process group) still drains a request in flight', async (t) => {
  // its own process group, as a terminal gives it: Ctrl-C signals the primary and every worker
  const { proxy, slow, release } = await workersWithRequestInFlight(t, { detached: true });
  process.kill(-proxy.child.pid!, 'SIGINT');
  await eventually(() => proxy.lines('proxy stopping').length === 3, { timeoutMs: 10_000 });
  release();
  const finished = await slow;
  t.equal(finished.text, 'slow done', 'the request in flight completed');
  t.same(await proxy.exited, { code: 0, signal: null }, proxy.stderr());
});

t.test('strangler proxy --workers 2: the Ctrl-C that reaches a worker after the primary\'s stop does not cut its drain', async (t) => {
  const { proxy, slow, release } = await workersWithRequestInFlight(t);
  const workers = proxy.lines('proxy listening').map((l) => l.pid as number);
  proxy.child.kill('SIGINT');
  await eventually(() => proxy.lines('proxy stopping').length === 3, { timeoutMs: 10_000 });
  // the order a loaded machine may deliver a terminal's Ctrl-C in: the primary's message first
  const draining = workers.filter((pid) => {
    try {
      process.kill(pid, 'SIGINT');
      return true;
    } catch {
      return false; // a worker with nothing in flight may be gone already
    }
  });
  t.ok(draining.length >= 1, 'the worker with the request in flight was still there');
  // the worker with nothing in flight may be exiting already when the signal reaches it, past
  // logging; the one draining the request must say it keeps draining
  await eventually(() => proxy.lines('still draining; another signal exits at once').length >= 1, { timeoutMs: 10_000 });
  release();
  t.equal((await slow).text, 'slow done', 'the request in flight completed');
  t.same(await proxy.exited, { code: 0, signal: null });
});

t.test('strangler proxy --workers 2 on a taken port: says so and exits 1 instead of waiting forever', async (t) => {
  const taken = await startUpstream('something else');
  t.teardown(() => taken.close());
  const dir = t.testdir();
  const config = path.join(dir, 'routes.yaml');
  await writeFile(config, `legacy: http://127.0.0.1:1\nroutes: []\n`);
  const proxy = spawnProxy(t, ['--config', config, '--listen', taken.url.replace('http://', ''), '--workers', '2']);
  t.same(await proxy.exited, { code: 1, signal: null });
  t.match(proxy.stderr(), /the proxy cannot listen on 127\.0\.0\.1:\d+: the port is taken/);
  t.equal(proxy.lines('proxy worker could not start, stopping').length, 1);
});

t.test('strangler proxy --workers 2: a worker that dies is replaced, the address keeps answering', async (t) => {
  const legacy = await startUpstream('legacy');
  t.teardown(() => legacy.close());
  const dir = t.testdir();
  const config = path.join(dir, 'routes.yaml');
  await writeFile(config, `legacy: ${legacy.url}\nroutes: []\n`);
  const port = await closedPort();
  const proxy = spawnProxy(t, ['--config', config, '--listen', `127.0.0.1:${port}`, '--workers', '2']);
  await eventually(() => proxy.lines('proxy listening').length === 2, { timeoutMs: 30_000 });
  const victim = proxy.lines('proxy listening')[0].pid;
  process.kill(victim, 'SIGKILL');
  const died = await eventually(() => proxy.lines('proxy worker died, starting another')[0], { timeoutMs: 10_000 });
  t.match(died, { worker: victim, signal: 'SIGKILL' });
  t.equal((await request(`http://127.0.0.1:${port}/`)).status, 200, 'the other worker answers meanwhile');
  await eventually(() => proxy.lines('proxy listening').length === 3, { timeoutMs: 30_000 });
  t.not(proxy.lines('proxy listening')[2].pid, victim, 'a new worker listens');
  t.equal((await request(`http://127.0.0.1:${port}/`)).status, 200);
  proxy.child.kill('SIGTERM');
  t.same(await proxy.exited, { code: 0, signal: null });
});
