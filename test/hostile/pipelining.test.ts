import t from 'tap';
import { request, startUpstream } from '../helpers/http.ts';
import { startTestProxy } from '../helpers/proxy.ts';
import { startByteUpstream } from './helpers/byte-upstream.ts';
import { openRaw, statusLines } from './helpers/raw-client.ts';

/** Defects 5, 10 and part of 13: pipelined clients and upstreams that close kept-alive connections. */

t.test('garbage pipelined behind a slow request does not inject a 400 into its answer', async (t) => {
  let posts = 0;
  const legacy = await startUpstream('legacy', (req, res) => {
    if (req.method === 'POST') posts++;
    req.resume();
    setTimeout(() => res.end('slow answer'), 150);
  });
  const proxy = await startTestProxy({ dir: t.testdir(), legacy: legacy.url });
  t.teardown(async () => {
    await proxy.close();
    await legacy.close();
  });
  for (const first of ['GET /slow HTTP/1.1\r\nHost: a\r\n\r\n', 'POST /slow HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nok']) {
    const conn = await openRaw(proxy.url, t.teardown);
    conn.write(`${first}GARBAGE \u0000\r\n\r\n`);
    const answer = await conn.closed(5000);
    t.same(statusLines(answer), [200], 'exactly one answer, the slow one');
    t.match(answer, /slow answer$/, 'whole, then the connection closes');
  }
  t.equal(posts, 1, 'the POST ran once');
});

t.test('pipelining clients that read slowly get every 8 MB answer whole (resume outside the parser)', async (t) => {
  // Before the fix, a drain that let one answer resume was emitted while another answer's parser
  // ran; undici's parser is not reentrant and the answer was cut: 7 of these 24 clients got short answers.
  const big = Buffer.alloc(8 * 1024 * 1024, 97);
  const legacy = await startUpstream('legacy', (req, res) => {
    if (req.url!.startsWith('/big')) {
      res.writeHead(200, { 'content-length': String(big.length) });
      res.end(big);
      return;
    }
    res.writeHead(200, { 'content-length': '5' });
    res.write('fi');
    setTimeout(() => res.end('rst'), Number(req.url!.split('/')[2]) % 7);
  });
  const proxy = await startTestProxy({ dir: t.testdir(), legacy: legacy.url });
  t.teardown(async () => {
    await proxy.close();
    await legacy.close();
  });
  const pipeline = (i: number) =>
    [0, 1, 2, 3, 4, 5].map((k) => (k % 2 === 0 ? `GET /small/${i + k} HTTP/1.1\r\nHost: a\r\n\r\n` : `GET /big/${k} HTTP/1.1\r\nHost: a\r\n\r\n`)).join('') +
    'GET /small/0 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n';
  const received = await Promise.all(
    Array.from({ length: 24 }, async (_, i) => {
      const conn = await openRaw(proxy.url, t.teardown);
      if (i % 3 === 0) {
        // a slow reader: pauses after every chunk
        conn.socket.on('data', () => {
          conn.socket.pause();
          setTimeout(() => conn.socket.resume(), 2);
        });
      }
      conn.write(pipeline(i));
      const text = await conn.closed(15_000).catch(() => conn.received());
      conn.destroy();
      return text;
    }),
  );
  const whole = (text: string) => statusLines(text).length === 7 && text.length > 3 * big.length && text.endsWith('first');
  t.same(received.map((text, i) => (whole(text) ? 'whole' : `client ${i}: ${statusLines(text).length} answers, ${text.length} bytes`)), received.map(() => 'whole'), 'every client got all seven answers, whole');
  t.equal((await request(`${proxy.url}/small/1`)).status, 200, 'the proxy is alive and answering');
});

t.test('a safe request on a kept-alive connection the upstream closes at once is retried once; a POST is not', async (t) => {
  // each connection answers its first request (keep-alive) and drops the next one unanswered
  const legacy = await startByteUpstream((socket, received) => {
    let answered = 0;
    socket.on('data', () => {
      const requests = received().split('\r\n\r\n').length - 1;
      if (requests > answered && answered === 0) {
        answered = 1;
        socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\nKeep-Alive: timeout=60\r\n\r\nok');
      } else if (requests > 1) socket.destroy();
    });
  });
  const proxy = await startTestProxy({ dir: t.testdir(), legacy: legacy.url });
  t.teardown(async () => {
    await proxy.close();
    await legacy.close();
  });
  const statuses: number[] = [];
  for (let i = 0; i < 20; i++) statuses.push((await request(`${proxy.url}/get/${i}`)).status);
  t.same([...new Set(statuses)], [200], 'every GET answered');
  t.ok(proxy.logs.some((l) => l.msg === 'upstream closed the connection; safe request retried once'), 'the retry is logged');
  await request(`${proxy.url}/prime`);
  const post = await request(`${proxy.url}/post`, { method: 'POST', body: 'x' });
  t.equal(post.status, 502, 'a write is never sent twice');
  t.equal(legacy.allBytes().split('POST /post').length - 1, 1, 'the POST reached the upstream once');
});
