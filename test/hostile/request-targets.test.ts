import t from 'tap';
import { eventually, request, startUpstream } from '../helpers/http.ts';
import { on, ROOMS_ROUTES, startProxyFixture, startTestProxy } from '../helpers/proxy.ts';
import { startByteUpstream, onRequestHead } from './helpers/byte-upstream.ts';
import { rawExchange, statusLines } from './helpers/raw-client.ts';

/** Defect 2: request targets undici refuses wedged the legacy pool; absolute-form reached services as is. */

t.test('300 requests with targets that are not origin-form leave legacy answering', async (t) => {
  const { proxy, legacy } = await startProxyFixture(t);
  const targets = ['OPTIONS * HTTP/1.1', 'GET ftp://x/ HTTP/1.1', 'GET HTTP://x/ HTTP/1.1', 'GET x HTTP/1.1'];
  const answers: string[] = [];
  for (let batch = 0; batch < 15; batch++) {
    answers.push(...(await Promise.all(Array.from({ length: 20 }, (_, i) => rawExchange(proxy.url, `${targets[(batch * 20 + i) % targets.length]}\r\nHost: a\r\nConnection: close\r\n\r\n`)))));
  }
  const byTarget = (line: string) => answers.filter((_, i) => targets[i % targets.length] === line).flatMap(statusLines);
  t.same([...new Set(byTarget('OPTIONS * HTTP/1.1'))], [200], 'OPTIONS * is answered by the proxy');
  t.match(answers[0], /allow: GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS/i);
  t.same([...new Set(byTarget('GET ftp://x/ HTTP/1.1'))], [400], 'a non-http absolute target is refused');
  t.same([...new Set(byTarget('GET x HTTP/1.1'))], [400], 'a bare word is refused');
  t.same([...new Set(byTarget('GET HTTP://x/ HTTP/1.1'))], [200], 'an http absolute target (scheme in any case) is converted and answered');
  const res = await request(`${proxy.url}/after`);
  t.equal(res.status, 200, 'legacy still answers');
  t.equal(res.json().upstream, 'legacy');
  t.notOk(legacy.seen.some((s) => !s.url.startsWith('/')), 'legacy only ever saw origin-form targets');
  const counted = await eventually(async () => /strangler_rejected_total\{reason="bad-target"\} (\d+)/.exec(await proxy.proxy.metrics.render())?.[1]);
  // the bare word is refused by Node's parser already (counted as malformed), ftp:// by the proxy's check
  t.equal(counted, '75', 'counted as client errors');
  t.notOk(proxy.logs.some((l) => l.msg === 'upstream failed'), 'never logged as an upstream failure');
});

t.test('an absolute-form request reaches the service in origin-form, with the target authority as its Host', async (t) => {
  const rooms = await startByteUpstream((socket, received) => onRequestHead(socket, received, () => socket.end('HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok')));
  const legacy = await startUpstream('legacy');
  const proxy = await startTestProxy({ dir: t.testdir(), legacy: legacy.url, services: { rooms: rooms.url }, routes: ROOMS_ROUTES, features: [on('rooms-get')] });
  t.teardown(async () => {
    await proxy.close();
    await legacy.close();
    await rooms.close();
  });
  const answer = await rawExchange(proxy.url, 'GET http://evil.example/api/rooms/1?x=1 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
  t.same(statusLines(answer), [200]);
  t.match(rooms.allBytes(), /^GET \/api\/rooms\/1\?x=1 HTTP\/1\.1\r\n/, 'origin-form on the wire');
  t.match(rooms.allBytes(), /\r\nhost: evil\.example\r\n/i, 'Host from the target (RFC 9112 §3.2.2)');
});

t.test('a target longer than limits.maxTargetLength gets 414 and reaches nobody', async (t) => {
  const { proxy, legacy } = await startProxyFixture(t, { extra: 'limits:\n  maxTargetLength: 1kb' });
  const answer = await rawExchange(proxy.url, `GET /${'a'.repeat(2000)} HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n`);
  t.same(statusLines(answer), [414]);
  t.match(answer, /STRANGLER_ERR_REQUEST_TARGET_TOO_LONG/);
  t.equal(legacy.seen.length, 0);
});
