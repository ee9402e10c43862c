import path from 'node:path';
import t from 'tap';
import { writeFlagsFile } from '../../proxy/flags/flags-file.ts';
import { runProxyWithAdmin } from '../helpers/admin-proxy.ts';
import { runCli } from '../helpers/cli.ts';
import { eventually, request, startUpstream } from '../helpers/http.ts';

const READER = 'read-token-0123456789abcdef';

t.test('GET /routes of a running proxy: request rates by target and the parity of the shadow run', async (t) => {
  const room = (id: number, name: string) => JSON.stringify({ id, name });
  const idOf = (url = '') => Number(url.split('/').pop());
  const legacy = await startUpstream('legacy', (req, res) => {
    req.resume();
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(room(idOf(req.url), 'Room'));
  });
  // the service gets rooms 8 and 9 wrong: 8 of 10 comparisons match
  const rooms = await startUpstream('rooms', (req, res) => {
    req.resume();
    const id = idOf(req.url);
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(room(id, id >= 8 ? 'Wrong' : 'Room'));
  });
  t.teardown(() => Promise.all([legacy.close(), rooms.close()]));
  const dir = t.testdir();
  const configFile = path.join(dir, 'routes.yaml');
  await writeFlagsFile(path.join(dir, 'flags.json'), { version: 2, features: [] });
  const running = await runProxyWithAdmin(
    configFile,
    (adminPort) => `listen: 127.0.0.1:0
legacy: ${legacy.url}
services:
  rooms: ${rooms.url}
flags:
  file: flags.json
comparisons:
  database: sqlite:strangler.sqlite
admin:
  listen: 127.0.0.1:${adminPort}
  readToken: ${READER}
routes:
  - name: rooms-get
    match: GET /api/rooms/:id
    service: rooms
    stage: shadow
    shadow: { noiseWarmup: 0, noiseSample: 0% }
`,
  );
  t.teardown(() => running.stop());
  for (let id = 0; id < 10; id++) t.equal((await request(`${running.url}/api/rooms/${id}`)).json().name, 'Room', `room ${id} answered by legacy`);

  const routes = async () => {
    const res = await fetch(`${running.adminUrl}/routes`, { headers: { authorization: `Bearer ${READER}` } });
    return ((await res.json()) as { routes: Array<Record<string, any>> }).routes;
  };
  // comparisons are stored after the answers went out
  const [route] = await eventually(async () => {
    const list = await routes();
    return list[0]?.parity === 80 ? list : undefined;
  }, { timeoutMs: 10_000, intervalMs: 50 });
  t.match(route, { name: 'rooms-get', stage: 'shadow', share: 0, parity: 80 });
  t.same(route.rates, { legacy: Math.round((10 / 60) * 100) / 100 }, 'requests per second over the last minute, all answered by legacy');

  const status = await runCli(['status', '--config', configFile]);
  t.equal(status.code, 0, status.stderr);
  t.match(status.stdout, /rooms-get\s+shadow\s+0 %\s+(on|off)\s+legacy 0\.17\s+80\.00 %/, 'strangler status shows the same');
});
