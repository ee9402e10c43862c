import t from 'tap';
import { eventually, request, startUpstream } from '../helpers/http.ts';
import { on, startProxyFixture, startTestProxy } from '../helpers/proxy.ts';
import { json, startShadowFixture } from '../shadow/shadow-fixture.ts';

/**
 * Issue 15, defect 6 (proxy side): the proxy sent upstreams no request id, so its access-log line
 * could not be joined with the service's or PHP's. One id per request now goes to every upstream
 * that sees it, as x-request-id, and is the access log's reqId.
 */

const logLineOf = async (logs: Array<Record<string, any>>, url: string) =>
  eventually(() => logs.find((l) => l.msg === 'request completed' && l.url === url));

const TRACEPARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

t.test('the primary gets the id of the proxy\'s log line; a client\'s own id is replaced when the peer is not trusted', async (t) => {
  const { proxy, legacy } = await startProxyFixture(t);
  await request(`${proxy.url}/a`);
  await request(`${proxy.url}/b`, { headers: { 'x-request-id': 'from-client-123' } });
  const [a, b] = legacy.seen.map((s) => s.headers['x-request-id']);
  t.equal(a, (await logLineOf(proxy.logs, '/a')).reqId);
  t.equal(b, (await logLineOf(proxy.logs, '/b')).reqId);
  t.not(b, 'from-client-123', 'anyone could otherwise pose as another request in every log');
  t.not(a, b);
});

t.test('from a trusted peer (forwarded.trust) the id it sends is kept, if it is a plain token', async (t) => {
  const { proxy, legacy } = await startProxyFixture(t, { extra: 'forwarded:\n  trust: [127.0.0.1/32]' });
  await request(`${proxy.url}/lb`, { headers: { 'x-request-id': 'from-proxy-123' } });
  await request(`${proxy.url}/odd`, { headers: { 'x-request-id': 'two words"\\' } });
  t.equal(legacy.seen[0].headers['x-request-id'], 'from-proxy-123');
  t.equal((await logLineOf(proxy.logs, '/lb')).reqId, 'from-proxy-123');
  const odd = legacy.seen[1].headers['x-request-id'];
  t.not(odd, 'two words"\\', 'an id with spaces, quotes or backslashes would break log formats: replaced');
  t.equal((await logLineOf(proxy.logs, '/odd')).reqId, odd);
});

t.test('the shadow copy gets the same id and traceparent as the primary', async (t) => {
  const { legacy, rooms, proxy, outcomes } = await startShadowFixture(t, {
    legacy: json(() => ({ id: 1 })),
    candidate: json(() => ({ id: 1 })),
  });
  await request(`${proxy.url}/api/rooms/1`, { headers: { traceparent: TRACEPARENT, tracestate: 'congo=t61rcWkgMzE' } });
  t.same(await outcomes(), { match: 1 }, 'and the id differing per call is no difference');
  const id = (await logLineOf(proxy.logs, '/api/rooms/1')).reqId;
  t.equal(legacy.seen[0].headers['x-request-id'], id);
  t.equal(rooms.seen[0].headers['x-request-id'], id);
  for (const seen of [legacy.seen[0], rooms.seen[0]]) {
    t.equal(seen.headers.traceparent, TRACEPARENT, 'a valid traceparent is passed on unchanged');
    t.equal(seen.headers.tracestate, 'congo=t61rcWkgMzE');
  }
});

t.test('legacy answering for a failed service (fallback) gets the id the service got', async (t) => {
  const rooms = await startUpstream('rooms', (req, res) => {
    req.resume();
    res.writeHead(500).end();
  });
  const legacy = await startUpstream('legacy');
  const proxy = await startTestProxy({
    dir: t.testdir(),
    legacy: legacy.url,
    services: { rooms: rooms.url },
    routes: '  - { name: rooms-get, match: GET /api/rooms/:id, service: rooms }',
    features: [on('rooms-get')],
  });
  t.teardown(async () => {
    await proxy.close();
    await Promise.all([legacy.close(), rooms.close()]);
  });
  const res = await request(`${proxy.url}/api/rooms/1`);
  t.equal(res.headers['x-strangler-target'], 'legacy');
  const id = (await logLineOf(proxy.logs, '/api/rooms/1')).reqId;
  t.equal(rooms.seen[0].headers['x-request-id'], id);
  t.equal(legacy.seen[0].headers['x-request-id'], id);
});

t.test('a malformed traceparent is removed with its tracestate; none is made up when absent', async (t) => {
  const { proxy, legacy } = await startProxyFixture(t);
  await request(`${proxy.url}/bad`, { headers: { traceparent: '00-00000000000000000000000000000000-00f067aa0ba902b7-01', tracestate: 'a=b' } });
  await request(`${proxy.url}/none`);
  t.equal(legacy.seen[0].headers.traceparent, undefined, 'an all-zero trace-id is invalid (W3C Trace Context)');
  t.equal(legacy.seen[0].headers.tracestate, undefined);
  t.equal(legacy.seen[1].headers.traceparent, undefined);
});
