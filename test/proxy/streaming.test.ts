import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import t from 'tap';
import { request, startUpstream } from '../helpers/http.ts';
import { on, startTestProxy } from '../helpers/proxy.ts';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

t.test('a 5 MB POST arrives byte-identical, and a 5 MB answer comes back byte-identical', async (t) => {
  const payload = randomBytes(5 * 1024 * 1024);
  let received: { hash: string; length: number; chunked: boolean } | undefined;
  const echo = (name: string) =>
    startUpstream(name, (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        received = { hash: sha(body), length: body.length, chunked: req.headers['transfer-encoding'] === 'chunked' };
        res.writeHead(200, { 'content-type': 'application/octet-stream' });
        // answer in many writes so the response is streamed, not a single buffer
        for (let i = 0; i < body.length; i += 64 * 1024) res.write(body.subarray(i, i + 64 * 1024));
        res.end();
      });
    });
  const legacy = await echo('legacy');
  const rooms = await echo('rooms');
  const proxy = await startTestProxy({
    dir: t.testdir(),
    legacy: legacy.url,
    services: { rooms: rooms.url },
    routes: '  - name: upload\n    match: POST /api/upload\n    service: rooms\n',
    features: [on('upload')],
  });
  t.teardown(async () => {
    await proxy.close();
    await legacy.close();
    await rooms.close();
  });

  for (const [path, side] of [['/api/upload', 'rooms'], ['/legacy/upload', 'legacy']]) {
    const res = await request(proxy.url + path, { method: 'POST', body: payload, headers: { 'content-type': 'application/octet-stream' } });
    t.equal(res.status, 200, `${side}: status`);
    t.equal(res.headers['x-strangler-target'], side);
    t.same(received, { hash: sha(payload), length: payload.length, chunked: false }, `${side}: upstream got the exact bytes`);
    t.equal(sha(res.body), sha(payload), `${side}: client got the exact bytes back`);
  }
});

t.test('a client that leaves before the upstream answers: the upstream request is cancelled at once', async (t) => {
  let upstreamSawClose!: () => void;
  const closed = new Promise<void>((resolve) => (upstreamSawClose = resolve));
  let arrived!: () => void;
  const arrivedAtUpstream = new Promise<void>((resolve) => (arrived = resolve));
  const legacy = await startUpstream('legacy', (req, res) => {
    if (req.url === '/slow') {
      // never answers: only the proxy cancelling the request ends it
      res.on('close', upstreamSawClose);
      arrived();
      return;
    }
    req.resume();
    res.end('fine');
  });
  const proxy = await startTestProxy({ dir: t.testdir(), legacy: legacy.url, services: {}, routes: '' });
  t.teardown(async () => {
    await proxy.close();
    await legacy.close();
  });
  const client = http.get(`${proxy.url}/slow`, { agent: false });
  client.on('error', () => {});
  await arrivedAtUpstream;
  client.destroy();
  await closed;
  t.pass('the upstream saw its request end when the client left');
  const next = await request(`${proxy.url}/after`);
  t.equal(next.text, 'fine', 'the proxy keeps serving');
  t.equal(proxy.logs.filter((l) => l.msg === 'upstream failed').length, 0, 'a client leaving is not logged as an upstream failure');
});
