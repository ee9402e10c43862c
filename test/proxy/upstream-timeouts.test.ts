import http from 'node:http';
import t from 'tap';
import { eventually, request, startUpstream } from '../helpers/http.ts';
import { on, startTestProxy } from '../helpers/proxy.ts';

/**
 * upstreamTimeout, as the forwarder keeps it (one sweep over the requests in flight, not a timer
 * each): the answer's headers within the timeout, then no pause in its body longer than it; a
 * client that reads slowly is never the upstream's fault.
 */

const ROUTES = `
  - name: rooms
    match: GET /api/rooms/:id
    service: rooms
`;

t.test('a service that never answers a safe request: legacy answers it once the timeout passes', async (t) => {
  const hung = await startUpstream('rooms', () => {
    /* never answers */
  });
  const legacy = await startUpstream('legacy');
  const proxy = await startTestProxy({ dir: t.testdir(), legacy: legacy.url, services: { rooms: hung.url }, routes: ROUTES, features: [on('rooms')], extra: 'upstreamTimeout: 150ms' });
  t.teardown(async () => {
    await proxy.close();
    await legacy.close();
    await hung.close();
  });
  const started = performance.now();
  const res = await request(`${proxy.url}/api/rooms/7`);
  const ms = performance.now() - started;
  t.equal(res.status, 200);
  t.equal(res.json().upstream, 'legacy', 'legacy answered');
  t.equal(hung.seen.length, 1, 'the service was asked once');
  t.ok(ms >= 140, `waited for the timeout (${ms.toFixed(0)} ms)`);
  t.ok(proxy.logs.some((l) => l.msg === 'service failed; the safe request is answered by legacy' && /UPSTREAM_TIMEOUT/.test(l.why)), 'logged as a timeout');
});

t.test('an upstream whose body stalls after the headers: the client sees the answer cut, the proxy logs a timeout', async (t) => {
  const stalling = await startUpstream('legacy', (req, res) => {
    req.resume();
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '100000' });
    res.write('the first part, then nothing');
  });
  const proxy = await startTestProxy({ dir: t.testdir(), legacy: stalling.url, extra: 'upstreamTimeout: 150ms' });
  t.teardown(async () => {
    await proxy.close();
    await stalling.close();
  });
  const outcome = await new Promise<{ how: string; body: string }>((resolve) => {
    let body = '';
    const req = http.get(`${proxy.url}/stalls`, { agent: false }, (res) => {
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ how: 'complete', body }));
      res.on('aborted', () => resolve({ how: 'aborted', body }));
      res.on('error', () => resolve({ how: 'aborted', body }));
    });
    req.on('error', () => resolve({ how: 'aborted', body }));
  });
  t.equal(outcome.how, 'aborted', 'the client is not left waiting for the rest');
  t.equal(outcome.body, 'the first part, then nothing', 'what the upstream sent reached the client');
  await eventually(() => proxy.logs.some((l) => l.msg === 'upstream failed' && l.kind === 'timeout' && /stalled for more than 150 ms/.test(l.err?.message)));
  t.pass('logged as a body timeout');
});

t.test('a client that reads slower than the timeout still gets the whole answer', async (t) => {
  const big = Buffer.alloc(8 * 1024 * 1024, 'x');
  const fast = await startUpstream('legacy', (req, res) => {
    req.resume();
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(big.length) });
    res.end(big);
  });
  const proxy = await startTestProxy({ dir: t.testdir(), legacy: fast.url, extra: 'upstreamTimeout: 100ms' });
  t.teardown(async () => {
    await proxy.close();
    await fast.close();
  });
  const received = await new Promise<number>((resolve, reject) => {
    const req = http.get(`${proxy.url}/big`, { agent: false }, (res) => {
      let bytes = 0;
      // hold the first chunk for 3× the timeout: the proxy's buffers fill and it stops reading
      // the upstream, which must not count as the upstream stalling
      res.pause();
      setTimeout(() => {
        res.on('data', (c: Buffer) => (bytes += c.length));
        res.resume();
      }, 300);
      res.on('end', () => resolve(bytes));
      res.on('aborted', () => reject(new Error(`aborted after ${bytes} bytes`)));
    });
    req.on('error', reject);
  });
  t.equal(received, big.length, 'every byte arrived');
  t.notOk(proxy.logs.some((l) => l.msg === 'upstream failed'), 'no upstream failure logged');
});
