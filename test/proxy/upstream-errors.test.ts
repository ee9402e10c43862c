import http from 'node:http';
import t from 'tap';
import { closedPort, eventually, request, startUpstream } from '../helpers/http.ts';
import { on, startTestProxy } from '../helpers/proxy.ts';

const ROUTES = `
  - name: slow
    match: GET /slow
    service: rooms
  - name: write
    match: POST /api/checkins
    service: rooms
`;

t.test('a dead service gives 502 with a clear body, and a write is never retried on legacy', async (t) => {
  const legacy = await startUpstream('legacy');
  const dead = `http://127.0.0.1:${await closedPort()}`;
  const proxy = await startTestProxy({ dir: t.testdir(), legacy: legacy.url, services: { rooms: dead }, routes: ROUTES, features: [on('write')] });
  t.teardown(async () => {
    await proxy.close();
    await legacy.close();
  });
  const res = await request(`${proxy.url}/api/checkins`, { method: 'POST', body: '{"minutes":25}', headers: { 'content-type': 'application/json' } });
  t.equal(res.status, 502);
  t.equal(res.headers['x-strangler-target'], 'rooms');
  t.equal(res.headers['x-strangler-error'], 'STRANGLER_ERR_UPSTREAM_UNREACHABLE');
  t.match(res.json(), { error: { code: 'STRANGLER_ERR_UPSTREAM_UNREACHABLE', message: /upstream "rooms" .* could not be reached: check that it is running/ } });
  t.equal(legacy.seen.length, 0, 'the write did not reach legacy as well: no double write');
  t.ok(proxy.logs.some((l) => l.msg === 'upstream failed' && l.kind === 'refused' && l.target === 'rooms'), 'logged as refused');
  await eventually(() => proxy.logs.some((l) => l.msg === 'request completed' && l.status === 502 && l.failure === 'refused'));
  t.pass('access log carries the failure');
});

t.test('a service that does not answer a write in time gives 504 (a write is never sent elsewhere)', async (t) => {
  const hung = await startUpstream('rooms', () => {
    /* never answers */
  });
  const legacy = await startUpstream('legacy');
  const proxy = await startTestProxy({
    dir: t.testdir(),
    legacy: legacy.url,
    services: { rooms: hung.url },
    routes: ROUTES,
    features: [on('write')],
    extra: 'upstreamTimeout: 200ms',
  });
  t.teardown(async () => {
    await proxy.close();
    await legacy.close();
    await hung.close();
  });
  const res = await request(`${proxy.url}/api/checkins`, { method: 'POST', body: '{}' });
  t.equal(res.status, 504);
  t.equal(legacy.seen.length, 0, 'legacy never got the write');
  t.match(res.json(), { error: { code: 'STRANGLER_ERR_UPSTREAM_TIMEOUT', message: /did not answer within 200 ms/ } });
  const after = await request(`${proxy.url}/other`);
  t.equal(after.status, 200, 'the proxy keeps serving');
});

t.test('an upstream that resets mid-response: the client sees an aborted response and the proxy keeps serving', async (t) => {
  const flaky = await startUpstream('legacy', (req, res) => {
    if (req.url === '/reset') {
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '1000000' });
      res.write('partial body');
      setImmediate(() => res.socket?.destroy());
      return;
    }
    res.end('fine');
  });
  const proxy = await startTestProxy({ dir: t.testdir(), legacy: flaky.url });
  t.teardown(async () => {
    await proxy.close();
    await flaky.close();
  });
  const outcome = await new Promise<string>((resolve) => {
    const req = http.get(`${proxy.url}/reset`, { agent: false }, (res) => {
      res.on('data', () => {});
      res.on('end', () => resolve('complete'));
      res.on('error', () => resolve('aborted'));
      res.on('aborted', () => resolve('aborted'));
    });
    req.on('error', () => resolve('aborted'));
  });
  t.equal(outcome, 'aborted', 'the client is not left waiting for the rest');
  const next = await request(`${proxy.url}/ok`);
  t.equal(next.text, 'fine');
});

t.test('an unreachable legacy gives 502 naming legacy', async (t) => {
  const proxy = await startTestProxy({ dir: t.testdir(), legacy: `http://127.0.0.1:${await closedPort()}` });
  t.teardown(() => proxy.close());
  const res = await request(`${proxy.url}/`);
  t.equal(res.status, 502);
  t.equal(res.headers['x-strangler-target'], 'legacy');
  t.match(res.json().error.message, /upstream "legacy"/);
});
