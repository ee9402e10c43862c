import t from 'tap';
import { eventually, request, startUpstream } from '../helpers/http.ts';
import { startTestProxy } from '../helpers/proxy.ts';
import { startByteUpstream, onRequestHead } from './helpers/byte-upstream.ts';
import { openRaw, rawExchange, statusLines } from './helpers/raw-client.ts';

/** Defects 1 and 4 of the adversarial review: upgrade requests that killed the process or held sockets. */

const HANDSHAKE = 'GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n';

t.test('one upgrade request carrying a Trailer header does not kill the proxy', async (t) => {
  const legacy = await startUpstream('legacy');
  const proxy = await startTestProxy({ dir: t.testdir(), legacy: legacy.url });
  t.teardown(async () => {
    await proxy.close();
    await legacy.close();
  });
  for (let i = 0; i < 10; i++) {
    // before the fix http-proxy's http.request threw ERR_HTTP_TRAILER_INVALID out of the upgrade handler
    await rawExchange(proxy.url, 'GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nTrailer: x\r\nTE: trailers\r\n\r\n');
  }
  const res = await request(`${proxy.url}/still-there`);
  t.equal(res.status, 200, 'the proxy still answers');
});

t.test('an upgrade request announcing a body it never sends is refused and holds nothing', async (t) => {
  const legacy = await startByteUpstream(() => {});
  const proxy = await startTestProxy({ dir: t.testdir(), legacy: legacy.url });
  t.teardown(async () => {
    await proxy.close();
    await legacy.close();
  });
  const answers = await Promise.all(Array.from({ length: 30 }, () => rawExchange(proxy.url, `${HANDSHAKE}Content-Length: 10\r\n\r\n`)));
  t.same(answers.map(statusLines), answers.map(() => [400]), 'each answered 400 and closed');
  t.match(answers[0], /STRANGLER_ERR_UPGRADE_WITH_BODY/);
  t.equal(legacy.connections.length, 0, 'no connection to legacy was opened');
  t.equal(await new Promise<number>((resolve) => proxy.proxy.server.getConnections((_e, n) => resolve(n))), 0, 'no client socket is left open');
});

t.test('upgraded connections count against limits.maxConcurrent and limits.maxWebSockets, and close when idle', async (t) => {
  // an upstream that upgrades every handshake and then stays silent
  const legacy = await startByteUpstream((socket, received) => {
    onRequestHead(socket, received, () => socket.write('HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n'));
  });
  const proxy = await startTestProxy({ dir: t.testdir(), legacy: legacy.url, extra: 'limits:\n  maxWebSockets: 3\n  webSocketIdleTimeout: 400ms' });
  t.teardown(async () => {
    await proxy.close();
    await legacy.close();
  });
  const open = [];
  for (let i = 0; i < 3; i++) {
    const conn = await openRaw(proxy.url, t.teardown);
    conn.write(`${HANDSHAKE}\r\n`);
    await conn.waitFor(/101 Switching Protocols/);
    open.push(conn);
  }
  const refused = await rawExchange(proxy.url, `${HANDSHAKE}\r\n`);
  t.same(statusLines(refused), [503], 'the fourth is refused with 503');
  t.match(refused, /STRANGLER_ERR_WEBSOCKETS_EXHAUSTED/);
  t.match(refused, /retry-after: 1/i);
  // nobody speaks: each upgraded connection is closed at the idle timeout
  for (const conn of open) await conn.closed(5000);
  await eventually(() => proxy.proxy.state.shedder.stats.upgrades === 0);
  const again = await openRaw(proxy.url, t.teardown);
  again.write(`${HANDSHAKE}\r\n`);
  await again.waitFor(/101 Switching Protocols/);
  t.pass('a new upgrade is accepted once the idle ones closed');
  t.ok(proxy.logs.some((l) => l.msg === 'upgraded connection idle; closed'), 'the idle close is logged');
  const metrics = await proxy.proxy.metrics.render();
  t.match(metrics, /strangler_rejected_total\{reason="websocket-limit"\} 1/, 'the refusal is counted');
});

t.test('an upstream that answers an upgrade with a chunked 200: the client gets a correctly framed answer', async (t) => {
  const legacy = await startByteUpstream((socket, received) => {
    onRequestHead(socket, received, () => socket.end('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\nX-Strangler-Target: forged\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n'));
  });
  const proxy = await startTestProxy({ dir: t.testdir(), legacy: legacy.url });
  t.teardown(async () => {
    await proxy.close();
    await legacy.close();
  });
  const answer = await rawExchange(proxy.url, `${HANDSHAKE}\r\n`);
  const [head, body] = answer.split('\r\n\r\n');
  t.same(statusLines(answer), [200]);
  t.notMatch(head, /transfer-encoding/i, 'not labelled chunked after http-proxy de-chunked it');
  t.notMatch(head, /forged/, "the upstream's x-strangler-* header does not reach the client");
  t.match(head, /connection: close/i, 'close-delimited');
  t.equal(body, 'hello world');
});

t.test('an upstream that never answers the handshake: 504 after upstreamTimeout, both sockets closed', async (t) => {
  const legacy = await startByteUpstream(() => {});
  const proxy = await startTestProxy({ dir: t.testdir(), legacy: legacy.url, extra: 'upstreamTimeout: 300ms' });
  t.teardown(async () => {
    await proxy.close();
    await legacy.close();
  });
  const answer = await rawExchange(proxy.url, `${HANDSHAKE}\r\n`);
  t.same(statusLines(answer), [504]);
  await eventually(() => legacy.connections.every((c) => c.socket.destroyed || c.socket.readableEnded));
  t.pass("the proxy's connection to legacy is closed");
});
