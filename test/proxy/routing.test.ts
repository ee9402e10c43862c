import t from 'tap';
import http from 'node:http';
import { eventually, request } from '../helpers/http.ts';
import { off, on, ROOMS_ROUTES, startProxyFixture } from '../helpers/proxy.ts';

const ROUTES = `${ROOMS_ROUTES}  - name: rooms-join
    match: POST /api/rooms/:id/join
    service: rooms
`;

t.test('routing matrix', async (t) => {
  const { proxy, legacy, rooms } = await startProxyFixture(t, {
    routes: ROUTES,
    extra: 'testers:\n  secret: s3cret-tester-0123456',
    features: [on('rooms-get'), off('rooms-list')],
  });

  const cases: Array<[string, string, string, string]> = [
    ['unmatched path goes to legacy', 'GET', '/diary', 'legacy'],
    ['matched route with flag off goes to legacy', 'GET', '/api/rooms', 'legacy'],
    ['matched route with flag on goes to the service', 'GET', '/api/rooms/7', 'rooms'],
    ['method mismatch stays on legacy', 'DELETE', '/api/rooms/7', 'legacy'],
    ['route whose flag is missing from the flags file stays on legacy', 'POST', '/api/rooms/7/join', 'legacy'],
    ['trailing slash is another path: legacy', 'GET', '/api/rooms/7/', 'legacy'],
    ['longer path is not a param match', 'GET', '/api/rooms/7/members', 'legacy'],
  ];
  for (const [name, method, path, expected] of cases) {
    const res = await request(proxy.url + path, { method });
    t.equal(res.status, 200, `${name}: status`);
    t.equal(res.json().upstream, expected, name);
    t.equal(res.headers['x-strangler-target'], expected, `${name}: x-strangler-target`);
  }

  t.test('query string reaches the upstream unchanged', async (t) => {
    const res = await request(`${proxy.url}/api/rooms/9?lang=zh&x=%20y&empty=`);
    t.equal(res.json().upstream, 'rooms');
    t.equal(res.json().url, '/api/rooms/9?lang=zh&x=%20y&empty=');
  });

  t.test('X-Forwarded-* headers are set; hop-by-hop headers are not forwarded', async (t) => {
    await request(`${proxy.url}/diary`, {
      headers: { host: 'timing.example', connection: 'keep-alive, x-private-hop', 'x-private-hop': '1', 'keep-alive': 'timeout=5', 'x-end-to-end': 'yes' },
    });
    const seen = legacy.seen.at(-1)!;
    t.equal(seen.headers['x-forwarded-for'], '127.0.0.1');
    t.equal(seen.headers['x-forwarded-proto'], 'http');
    t.equal(seen.headers['x-forwarded-host'], 'timing.example');
    t.equal(seen.headers.host, 'timing.example', 'Host is passed through');
    t.equal(seen.headers['x-private-hop'], undefined, 'header named in Connection is dropped');
    t.equal(seen.headers['x-end-to-end'], 'yes');
  });

  t.test('hop-by-hop response headers are not passed back', async (t) => {
    const res = await request(`${proxy.url}/diary`);
    t.equal(res.headers['keep-alive'], undefined);
  });

  t.test('testers force a side only with the secret; the headers never reach an upstream', async (t) => {
    const forced = await request(`${proxy.url}/api/rooms`, { headers: { 'x-strangler-force': 'service', 'x-strangler-secret': 's3cret-tester-0123456' } });
    t.equal(forced.json().upstream, 'rooms', 'forced to the service with the right secret');
    const back = await request(`${proxy.url}/api/rooms/1`, { headers: { 'x-strangler-force': 'legacy', 'x-strangler-secret': 's3cret-tester-0123456' } });
    t.equal(back.json().upstream, 'legacy', 'forced to legacy although the flag is on');
    const wrong = await request(`${proxy.url}/api/rooms`, { headers: { 'x-strangler-force': 'service', 'x-strangler-secret': 'guess' } });
    t.equal(wrong.json().upstream, 'legacy', 'a wrong secret is ignored');
    const none = await request(`${proxy.url}/api/rooms`, { headers: { 'x-strangler-force': 'service' } });
    t.equal(none.json().upstream, 'legacy', 'no secret is ignored');
    for (const seen of [...legacy.seen, ...rooms.seen]) {
      t.notOk(seen.headers['x-strangler-force'] ?? seen.headers['x-strangler-secret'], `${seen.method} ${seen.url} saw no tester header`);
    }
  });

  t.test('one access log line per request with route, target, status and latency', async (t) => {
    await request(`${proxy.url}/api/rooms/3?line=1`);
    await eventually(() => proxy.logs.some((l) => l.url === '/api/rooms/3?line=1'));
    const lines = proxy.logs.filter((l) => l.msg === 'request completed' && l.url === '/api/rooms/3?line=1');
    t.equal(lines.length, 1);
    t.match(lines[0], { level: 30, route: 'rooms-get', target: 'rooms', reason: 'flag-on', status: 200, method: 'GET' });
    t.type(lines[0].ms, 'number');
    const other = proxy.logs.find((l) => l.msg === 'flags applied')!;
    t.same(Object.keys(lines[0]).slice(0, 4), Object.keys(other).slice(0, 4), 'same leading fields (level, time, pid, hostname) as every other log line');
    t.type(lines[0].time, typeof other.time);
  });
});

t.test('targetHeader: false leaves responses without x-strangler-target', async (t) => {
  const { proxy } = await startProxyFixture(t, { extra: 'targetHeader: false' });
  const res = await request(`${proxy.url}/`);
  t.equal(res.status, 200);
  t.equal(res.headers['x-strangler-target'], undefined);
});

t.test('an empty tester secret disables forcing', async (t) => {
  const { proxy } = await startProxyFixture(t, { routes: ROUTES });
  const res = await request(`${proxy.url}/api/rooms`, { headers: { 'x-strangler-force': 'service', 'x-strangler-secret': '' } });
  t.equal(res.json().upstream, 'legacy');
});

t.test('the upstream answer header lines come back as sent, minus hop-by-hop ones', async (t) => {
  const { proxy } = await startProxyFixture(t, {
    legacy: (req, res) => {
      req.resume();
      // raw header lines: a name in mixed case, two Set-Cookie lines, a header made hop-by-hop by Connection
      res.writeHead(200, ['Content-Type', 'text/plain', 'Set-Cookie', 'a=1', 'Set-Cookie', 'b=2', 'Connection', 'keep-alive, x-hop-only', 'X-Hop-Only', 'secret', 'X-Kept', 'yes']);
      res.end('ok');
    },
  });
  const raw = await new Promise<string[]>((resolve, reject) => {
    http.get(`${proxy.url}/page`, { agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.rawHeaders));
    }).on('error', reject);
  });
  const lines = raw.flatMap((v, i) => (i % 2 === 0 ? [`${v}: ${raw[i + 1]}`] : []));
  t.ok(lines.includes('Content-Type: text/plain'), 'the name keeps its case');
  t.same(lines.filter((l) => l.startsWith('Set-Cookie')), ['Set-Cookie: a=1', 'Set-Cookie: b=2'], 'both Set-Cookie lines, in order');
  t.ok(lines.includes('X-Kept: yes'));
  t.notOk(lines.some((l) => /^x-hop-only/i.test(l)), 'a header the upstream named in Connection is not passed on');
  t.ok(lines.includes('x-strangler-target: legacy'));
});
