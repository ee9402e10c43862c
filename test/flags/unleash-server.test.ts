import http from 'node:http';
import type { AddressInfo } from 'node:net';
import t from 'tap';
import { rolloutFeature } from '../../proxy/flags/flags-file.ts';
import { eventually, request, startUpstream } from '../helpers/http.ts';
import { startTestProxy } from '../helpers/proxy.ts';

// Stands in for an Unleash server's client API (GET /api/client/features), the part the
// proxy's unleash-client talks to. Running against a real unleash-server is the ops issue's.
async function startClientApi(token: string) {
  const calls: string[] = [];
  const server = http.createServer((req, res) => {
    calls.push(`${req.method} ${req.url} ${req.headers.authorization}`);
    req.resume();
    if (req.headers.authorization !== token) {
      res.writeHead(401).end();
      return;
    }
    if (req.method === 'GET' && req.url?.startsWith('/api/client/features')) {
      res.writeHead(200, { 'content-type': 'application/json', etag: '"v1"' });
      res.end(JSON.stringify({ version: 2, features: [rolloutFeature('rooms-get', 100)] }));
      return;
    }
    res.writeHead(202).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/api`,
    calls,
    close: () => new Promise<void>((resolve) => (server.closeAllConnections(), server.close(() => resolve()))),
  };
}

t.test('server mode: flags come from Unleash; when it goes away the proxy keeps the last known flags', async (t) => {
  const api = await startClientApi('client-token');
  const legacy = await startUpstream('legacy');
  const rooms = await startUpstream('rooms');
  const dir = t.testdir();
  const options = {
    dir,
    legacy: legacy.url,
    services: { rooms: rooms.url },
    routes: '  - name: rooms-get\n    match: GET /api/rooms/:id\n    service: rooms\n',
    flags: `flags:\n  unleash:\n    url: ${api.url}\n    token: client-token\n    refreshInterval: 100ms\n    backupDir: backup`,
  };
  const first = await startTestProxy(options);
  t.teardown(async () => {
    await legacy.close();
    await rooms.close();
  });
  t.equal((await request(`${first.url}/api/rooms/1`)).headers['x-strangler-target'], 'rooms', 'flag from the server is on');
  t.ok(api.calls.some((c) => c.startsWith('GET /api/client/features') && c.endsWith('client-token')), 'the token was sent');

  await api.close();
  const warning = await eventually(() => first.logs.find((l) => l.msg === 'unleash server unreachable, serving last known flags'));
  t.equal(warning.level, 40);
  t.equal((await request(`${first.url}/api/rooms/1`)).headers['x-strangler-target'], 'rooms', 'still serving the last known flags');
  await first.close();

  // a restart while the server is still down starts from unleash-client's backup file
  const second = await startTestProxy({ ...options, dir });
  t.teardown(() => second.close());
  t.equal((await request(`${second.url}/api/rooms/1`)).headers['x-strangler-target'], 'rooms', 'restarted from the backup');
});
