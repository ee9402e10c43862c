import net from 'node:net';
import t from 'tap';
import { eventually, request } from '../helpers/http.ts';
import { on, ROOMS_ROUTES, startProxyFixture } from '../helpers/proxy.ts';

function raw(url: string, text: string): Promise<string> {
  const { port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), '127.0.0.1', () => socket.write(text));
    let out = '';
    socket.on('data', (d) => (out += d));
    socket.on('end', () => resolve(out));
    socket.on('close', () => resolve(out));
    socket.on('error', reject);
  });
}

t.test('bad requests get 400/431 or a clean abort, and never wedge the proxy', async (t) => {
  let aborted = 0;
  const { proxy, legacy, rooms } = await startProxyFixture(t, {
    legacy: (req, res) => {
      req.on('aborted', () => aborted++);
      req.resume();
      req.on('end', () => res.end('ok'));
    },
    routes: ROOMS_ROUTES,
    features: [on('rooms-get')],
  });

  t.test('malformed percent-encoding → 400 with a JSON body', async (t) => {
    const res = await raw(proxy.url, 'GET /api/rooms/%E0%A4%A HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    t.match(res, /^HTTP\/1\.1 400 /);
    t.match(res, /STRANGLER_ERR_BAD_REQUEST_TARGET/);
    t.equal(rooms.seen.length, 0);
  });

  t.test('oversized headers → 431', async (t) => {
    const res = await raw(proxy.url, `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`);
    t.match(res, /^HTTP\/1\.1 431 /);
  });

  t.test('garbage instead of HTTP → 400', async (t) => {
    const res = await raw(proxy.url, 'HELLO\r\n\r\n');
    t.match(res, /^HTTP\/1\.1 400 /);
  });

  t.test('a client that disconnects mid-body: the upstream call is aborted, the proxy carries on', async (t) => {
    const socket = net.connect(Number(new URL(proxy.url).port), '127.0.0.1');
    await new Promise<void>((resolve) => socket.on('connect', () => resolve()));
    socket.write('POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n' + 'x'.repeat(1000));
    await eventually(() => legacy.seen.some((s) => s.url === '/upload'));
    socket.destroy();
    await eventually(() => aborted === 1);
    t.equal(aborted, 1, 'legacy saw the request aborted, not completed with a short body');
    const res = await request(`${proxy.url}/after`);
    t.equal(res.text, 'ok');
    await eventually(() => proxy.logs.some((l) => l.msg === 'request completed' && l.url === '/upload' && l.aborted === true));
  });
});
