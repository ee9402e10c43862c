import type http from 'node:http';
import t, { type Test } from 'tap';
import { closedPort, eventually, request, startUpstream } from '../helpers/http.ts';
import { on, startTestProxy } from '../helpers/proxy.ts';
import { createBreakerBoard } from '../../proxy/safety/circuit-breaker.ts';

const ROUTES = `
  - name: rooms-get
    match: GET /api/rooms/:id
    service: rooms
  - name: checkin
    match: POST /api/checkins
    service: rooms
`;

async function setup(t: Test, rooms: string | ((req: http.IncomingMessage, res: http.ServerResponse) => void), extra = '') {
  const legacy = await startUpstream('legacy');
  const service = typeof rooms === 'string' ? null : await startUpstream('rooms', rooms);
  const proxy = await startTestProxy({
    dir: t.testdir(),
    legacy: legacy.url,
    services: { rooms: typeof rooms === 'string' ? rooms : service!.url },
    routes: ROUTES,
    features: [on('rooms-get'), on('checkin')],
    extra: `breaker:\n  failures: 3\n  openFor: 300ms\n${extra}`,
  });
  t.teardown(async () => {
    await proxy.close();
    await legacy.close();
    await service?.close();
  });
  return { legacy, service, proxy };
}

t.test('a dead service: every GET is answered by legacy, the breaker opens, writes fail cleanly and once', async (t) => {
  const { legacy, proxy } = await setup(t, `http://127.0.0.1:${await closedPort()}`);
  for (let i = 0; i < 6; i++) {
    const res = await request(`${proxy.url}/api/rooms/${i}`);
    t.equal(res.status, 200, `GET ${i} succeeded`);
    t.equal(res.json().upstream, 'legacy');
    t.equal(res.headers['x-strangler-target'], 'legacy');
  }
  t.equal(proxy.proxy.state.breakers.state('rooms'), 'open', 'three failures in a row opened the breaker');
  t.ok(proxy.logs.some((l) => l.msg === 'circuit breaker open' && l.service === 'rooms'), 'the breaker opening is logged');
  await eventually(() => proxy.logs.filter((l) => l.msg === 'request completed' && l.reason === 'breaker-open').length >= 3);
  t.equal(proxy.logs.filter((l) => l.msg === 'request completed' && l.reason === 'fallback').length, 3, 'the first three fell back after a failure, the rest skipped the service');

  const before = legacy.seen.length;
  const write = await request(`${proxy.url}/api/checkins`, { method: 'POST', body: '{"minutes":25}', headers: { 'content-type': 'application/json' } });
  t.equal(write.status, 200, 'with the breaker open, a write goes to legacy, the source of truth');
  t.equal(legacy.seen.length, before + 1, 'exactly once');
});

t.test('a write to a failing service (breaker still closed) is never retried: 502, legacy untouched', async (t) => {
  const { legacy, proxy } = await setup(t, `http://127.0.0.1:${await closedPort()}`);
  const write = await request(`${proxy.url}/api/checkins`, { method: 'POST', body: '{"minutes":25}', headers: { 'content-type': 'application/json' } });
  t.equal(write.status, 502);
  t.equal(write.headers['x-strangler-error'], 'STRANGLER_ERR_UPSTREAM_UNREACHABLE');
  t.equal(legacy.seen.length, 0, 'no double write');
});

t.test('a service answering 500 to a GET: legacy answers instead; the client never sees the 500', async (t) => {
  let calls = 0;
  const { service, proxy } = await setup(t, (req, res) => {
    calls++;
    req.resume();
    res.writeHead(500, { 'content-type': 'application/json' });
    res.end('{"error":"boom"}');
  });
  const res = await request(`${proxy.url}/api/rooms/1`);
  t.equal(res.status, 200);
  t.equal(res.json().upstream, 'legacy');
  t.equal(calls, 1);
  t.equal(service!.seen.length, 1);
});

t.test('after openFor, one probe goes to the service; its success closes the breaker', async (t) => {
  let healthy = false;
  const { service, proxy } = await setup(t, (req, res) => {
    req.resume();
    res.writeHead(healthy ? 200 : 503, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ upstream: 'rooms' }));
  });
  for (let i = 0; i < 3; i++) await request(`${proxy.url}/api/rooms/1`);
  t.equal(proxy.proxy.state.breakers.state('rooms'), 'open');
  const seen = service!.seen.length;
  t.equal((await request(`${proxy.url}/api/rooms/1`)).json().upstream, 'legacy');
  t.equal(service!.seen.length, seen, 'while open, the service gets nothing');
  healthy = true;
  await eventually(() => proxy.proxy.state.breakers.state('rooms') === 'half-open', { timeoutMs: 2000 });
  const probe = await request(`${proxy.url}/api/rooms/1`);
  t.equal(probe.json().upstream, 'rooms', 'the probe reached the recovered service');
  t.equal(proxy.proxy.state.breakers.state('rooms'), 'closed');
});

t.test('breaker state machine: half-open lets exactly one probe through; a failed probe reopens', async (t) => {
  let now = 0;
  const changes: string[] = [];
  const board = createBreakerBoard({ failures: 2, openForMs: 100, now: () => now, onChange: (_s, state) => changes.push(state) });
  board.record('a', false);
  t.ok(board.allows('a'), 'one failure: still closed');
  board.record('a', true);
  board.record('a', false);
  t.ok(board.allows('a'), 'a success in between resets the count');
  board.record('a', false);
  t.notOk(board.allows('a'), 'two in a row: open');
  now = 100;
  t.ok(board.allows('a'), 'half-open: the probe');
  t.notOk(board.allows('a'), 'only one probe at a time');
  board.record('a', false);
  t.equal(board.state('a'), 'open', 'the probe failed: open again');
  now = 250;
  t.ok(board.allows('a'));
  board.record('a', true);
  t.equal(board.state('a'), 'closed');
  t.same(changes, ['open', 'half-open', 'open', 'half-open', 'closed']);
  t.ok(board.allows('b'), 'an unknown service is closed');
});
