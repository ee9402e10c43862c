import t from 'tap';
import { eventually, request } from '../helpers/http.ts';
import { startProxyFixture } from '../helpers/proxy.ts';
import { rawExchange, statusLines } from './helpers/raw-client.ts';

/**
 * Issue 14 #7: a route at cutover was reachable on legacy through another spelling of its path
 * (%2F, empty segments, dot segments, a long parameter), which PHP then served. Each target here
 * is sent as raw bytes, because Node's own client would rewrite some of them.
 */
const ROUTES = `
  - name: rooms-get
    match: GET /api/rooms/:id
    service: rooms
    stage: cutover
  - name: bookings-get
    match: GET /api/bookings/:id
    service: rooms
    stage: shadow
`;

type Side = 'legacy' | 'rooms';
type Fixture = Awaited<ReturnType<typeof startProxyFixture>>;

/** Sends one raw GET and tells which upstream got it and with which url; null: neither did. */
async function send({ proxy, legacy, rooms }: Fixture, target: string) {
  const before = { legacy: legacy.seen.length, rooms: rooms.seen.length };
  const answer = await rawExchange(proxy.url, `GET ${target} HTTP/1.1\r\nHost: timing.example\r\nConnection: close\r\n\r\n`);
  const reached: Array<{ side: Side; url: string }> = [
    ...legacy.seen.slice(before.legacy).map((s) => ({ side: 'legacy' as const, url: s.url })),
    ...rooms.seen.slice(before.rooms).map((s) => ({ side: 'rooms' as const, url: s.url })),
  ];
  return { status: statusLines(answer)[0], answer, reached };
}

const LONG_ID = 'r'.repeat(200);

/** [target as sent, side, url that side receives] with the default paths: settings */
const MATRIX: Array<[string, Side, string]> = [
  ['/api/rooms/1', 'rooms', '/api/rooms/1'],
  ['/api%2Frooms/1', 'rooms', '/api/rooms/1'],
  ['/api%2frooms/1', 'rooms', '/api/rooms/1'],
  ['/api%5Crooms/1', 'rooms', '/api/rooms/1'],
  ['/api\\rooms/1', 'rooms', '/api/rooms/1'],
  ['//api/rooms/1', 'rooms', '/api/rooms/1'],
  ['/api//rooms/1', 'rooms', '/api/rooms/1'],
  ['/api/rooms//1', 'rooms', '/api/rooms/1'],
  ['/api/x/../rooms/1', 'rooms', '/api/rooms/1'],
  ['/api/x/%2e%2e/rooms/1', 'rooms', '/api/rooms/1'],
  ['/api/x/.%2E/rooms/1', 'rooms', '/api/rooms/1'],
  ['/api/./rooms/1', 'rooms', '/api/rooms/1'],
  ['/../api/rooms/1', 'rooms', '/api/rooms/1'],
  ['/%61pi/rooms/%31', 'rooms', '/api/rooms/1'],
  ['http://other.example/api//rooms/1', 'rooms', '/api/rooms/1'],
  ['/api//rooms/1?next=//a/../b&s=%2F', 'rooms', '/api/rooms/1?next=//a/../b&s=%2F'],
  [`/api/rooms/${LONG_ID}`, 'rooms', `/api/rooms/${LONG_ID}`],
  // find-my-way lets :id match an empty segment, so /api/rooms/ is the route's too
  ['/api/rooms/x/..', 'rooms', '/api/rooms/'],
  // legacy, but with the very path the route table saw, so PHP cannot read it as /api/rooms/1
  ['//x/api/rooms/1', 'legacy', '/x/api/rooms/1'],
  ['/api%252Frooms/1', 'legacy', '/api%252Frooms/1'],
  ['/api/rooms/1/', 'legacy', '/api/rooms/1/'],
  ['/api/rooms/1/.', 'legacy', '/api/rooms/1/'],
  ['/diary//2026/../2025', 'legacy', '/diary/2025'],
  ['/diary?q=a//b', 'legacy', '/diary?q=a//b'],
];

t.test('path matrix: each spelling reaches the side its normalised path is routed to, with that path', async (t) => {
  const fixture = await startProxyFixture(t, { routes: ROUTES });
  for (const [target, side, url] of MATRIX) {
    const { status, reached, answer } = await send(fixture, target);
    t.equal(status, 200, `${target}: status`);
    t.same(reached, [{ side, url }], `${target} → ${side} ${url}`);
    t.match(answer, new RegExp(`x-strangler-target: ${side}\\r\\n`, 'i'), `${target}: x-strangler-target`);
  }
});

t.test('targets no request may carry are refused before any upstream sees them', async (t) => {
  const fixture = await startProxyFixture(t, { routes: ROUTES });
  const cases: Array<[string, number, string]> = [
    ['/api/rooms/1#x', 400, 'STRANGLER_ERR_PATH_FRAGMENT'],
    ['/api/rooms/%E0%A4%A', 400, 'STRANGLER_ERR_BAD_REQUEST_TARGET'],
    ['/api%2/rooms/1', 400, 'STRANGLER_ERR_BAD_REQUEST_TARGET'],
    // limits.maxTargetLength (8 KB by default) is checked first, on the whole target
    [`/api/rooms/${'r'.repeat(8 * 1024)}`, 414, 'STRANGLER_ERR_REQUEST_TARGET_TOO_LONG'],
  ];
  for (const [target, status, code] of cases) {
    const res = await send(fixture, target);
    t.equal(res.status, status, `${target.slice(0, 40)}: status`);
    t.match(res.answer, code, `${target.slice(0, 40)}: ${code}`);
    t.same(res.reached, [], `${target.slice(0, 40)}: no upstream saw it`);
  }
});

t.test('a shadowed route: legacy and the copy get the same normalised path', async (t) => {
  const fixture = await startProxyFixture(t, { routes: ROUTES });
  const { reached } = await send(fixture, '/api//bookings/x/../7?a=//b');
  t.same(reached.filter((r) => r.side === 'legacy'), [{ side: 'legacy', url: '/api/bookings/7?a=//b' }]);
  await eventually(() => fixture.rooms.seen.length > 0);
  t.same(fixture.rooms.seen.map((s) => s.url), ['/api/bookings/7?a=//b'], 'the copy');
});

t.test('escapedSlashes: reject answers 400 for an escaped slash and still merges and resolves the rest', async (t) => {
  const fixture = await startProxyFixture(t, { routes: ROUTES, extra: 'paths:\n  escapedSlashes: reject' });
  for (const target of ['/api%2Frooms/1', '/api%5crooms/1', '/api\\rooms/1']) {
    const res = await send(fixture, target);
    t.equal(res.status, 400, `${target}: status`);
    t.match(res.answer, 'STRANGLER_ERR_PATH_ESCAPED_SLASH');
    t.same(res.reached, [], `${target}: no upstream saw it`);
  }
  t.same((await send(fixture, '/api//x/../rooms/1')).reached, [{ side: 'rooms', url: '/api/rooms/1' }]);
});

t.test('escapedSlashes: keep and mergeSlashes: false pass those spellings on to legacy as sent', async (t) => {
  const fixture = await startProxyFixture(t, { routes: ROUTES, extra: 'paths:\n  escapedSlashes: keep\n  mergeSlashes: false\n  normalize: false' });
  for (const target of ['/api%2Frooms/1', '/api\\rooms/1', '/api//rooms/1', '/api/x/../rooms/1']) {
    t.same((await send(fixture, target)).reached, [{ side: 'legacy', url: target }], target);
  }
});

t.test('a parameter longer than 100 characters at cutover reaches the service, not legacy', async (t) => {
  const { proxy, legacy, rooms } = await startProxyFixture(t, { routes: ROUTES });
  const res = await request(`${proxy.url}/api/rooms/${LONG_ID}`);
  t.equal(res.json().upstream, 'rooms');
  t.equal(res.json().url, `/api/rooms/${LONG_ID}`);
  t.equal(legacy.seen.length, 0);
  t.equal(rooms.seen.length, 1);
});
