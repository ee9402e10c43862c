import t from 'tap';
import { request } from '../helpers/http.ts';
import { startTestProxy } from '../helpers/proxy.ts';
import { onRequestHead, startByteUpstream } from './helpers/byte-upstream.ts';

/** Interim (1xx) answers from an upstream before its final one (RFC 9110 §15.2). */

t.test('several 102 and 103 answers before the final one: the client gets the final answer', async (t) => {
  const legacy = await startByteUpstream((socket, received) =>
    onRequestHead(socket, received, () =>
      socket.write(
        'HTTP/1.1 102 Processing\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </b.js>; rel=preload\r\n\r\n' +
          'HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfinal',
      ),
    ),
  );
  const proxy = await startTestProxy({ dir: t.testdir(), legacy: legacy.url });
  t.teardown(async () => {
    await proxy.close();
    await legacy.close();
  });
  const res = await request(`${proxy.url}/x`);
  t.equal(res.status, 200);
  t.equal(res.text, 'final');
});

t.test('an unasked 100 Continue: a clean 502, never a crash or a wedge (undici refuses 100, nodejs/undici#197)', async (t) => {
  // The proxy never forwards Expect (Node's server answers the client's own), so an upstream has
  // no reason to send 100; undici, which forwards for us, treats one as a bad answer.
  const legacy = await startByteUpstream((socket, received) =>
    onRequestHead(socket, received, (head) =>
      socket.write(head.startsWith('GET /continue') ? 'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok' : 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok'),
    ),
  );
  const proxy = await startTestProxy({ dir: t.testdir(), legacy: legacy.url });
  t.teardown(async () => {
    await proxy.close();
    await legacy.close();
  });
  const res = await request(`${proxy.url}/continue`);
  t.equal(res.status, 502);
  t.equal(res.json().error.code, 'STRANGLER_ERR_UPSTREAM_UNREACHABLE');
  t.equal((await request(`${proxy.url}/after`)).text, 'ok', 'the next request is answered');
});
