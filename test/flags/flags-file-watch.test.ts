import { writeFile } from 'node:fs/promises';
import t from 'tap';
import { runCli } from '../helpers/cli.ts';
import { eventually, request } from '../helpers/http.ts';
import { off, ROOMS_ROUTES, startProxyFixture } from '../helpers/proxy.ts';

t.test('strangler shift flips a running proxy without a restart and without dropping a request', async (t) => {
  const { proxy } = await startProxyFixture(t, { routes: ROOMS_ROUTES, features: [off('rooms-get')] });
  const side = async () => (await request(`${proxy.url}/api/rooms/1`)).headers['x-strangler-target'];
  t.equal(await side(), 'legacy');

  // keep traffic flowing while the flag changes twice
  let stop = false;
  const statuses: number[] = [];
  const traffic = (async () => {
    while (!stop) statuses.push((await request(`${proxy.url}/api/rooms/2`, { headers: { 'x-user-id': `u${statuses.length}` } })).status);
  })();

  const shifted = await runCli(['shift', 'rooms-get', '100', '--config', proxy.configFile]);
  t.equal(shifted.code, 0, shifted.stderr);
  t.match(shifted.stdout, /rooms-get: off \(100 % when on\) → 100 % of requests to "rooms"/);
  const started = Date.now();
  await eventually(async () => (await side()) === 'rooms', { timeoutMs: 3000 });
  t.pass(`applied ${Date.now() - started} ms after the shift command returned`);

  const killed = await runCli(['shift', 'rooms-get', 'off', '--config', proxy.configFile]);
  t.equal(killed.code, 0, killed.stderr);
  await eventually(async () => (await side()) === 'legacy', { timeoutMs: 3000 });
  t.pass('kill switch: back to legacy');

  stop = true;
  await traffic;
  t.ok(statuses.length > 10, `${statuses.length} requests ran during the flips`);
  t.same([...new Set(statuses)], [200], 'every one of them got a 200');
});

t.test('a malformed flags file keeps the last good flags and logs an error', async (t) => {
  const { proxy } = await startProxyFixture(t, { routes: ROOMS_ROUTES });
  t.equal((await runCli(['shift', 'rooms-get', '100', '--config', proxy.configFile])).code, 0);
  await eventually(async () => (await request(`${proxy.url}/api/rooms/1`)).headers['x-strangler-target'] === 'rooms');

  await writeFile(proxy.flagsFile, '{ "version": 2, "features": [ { "name": "rooms-get", ');
  const error = await eventually(() => proxy.logs.find((l) => l.msg === 'flags file rejected, keeping the last good flags'));
  t.equal(error.level, 50, 'logged at error level');
  t.equal(error.code, 'STRANGLER_ERR_FLAGS_FILE_INVALID');
  t.match(error.err.message, /JSON syntax/);
  t.equal((await request(`${proxy.url}/api/rooms/1`)).headers['x-strangler-target'], 'rooms', 'still on the last good flags');

  await writeFile(proxy.flagsFile, JSON.stringify({ version: 2, features: [{ name: 'rooms-get', strategies: 'all' }] }));
  await eventually(() => proxy.logs.some((l) => l.msg === 'flags file rejected, keeping the last good flags' && /enabled/.test(l.err.message)));
  t.equal((await request(`${proxy.url}/api/rooms/1`)).headers['x-strangler-target'], 'rooms', 'a structurally wrong file is rejected too');
});
