import t from 'tap';
import { eventually, request } from '../helpers/http.ts';
import { startProxyFixture } from '../helpers/proxy.ts';
import { openRaw, statusLines, type RawConnection } from './helpers/raw-client.ts';

/** Slowloris and idle clients: each is bounded by a limit with a clear status, and counted. */

const openConnections = (server: import('node:http').Server) => new Promise<number>((resolve) => server.getConnections((_e, n) => resolve(n)));

t.test('slowloris: 40 clients trickling their headers are answered 408 at limits.headerTimeout while others are served', async (t) => {
  const { proxy, legacy } = await startProxyFixture(t, { extra: 'limits:\n  headerTimeout: 1s' });
  const head = 'GET /slow HTTP/1.1\r\nHost: a\r\nX-Padding: ' + 'p'.repeat(200) + '\r\n';
  const conns: RawConnection[] = [];
  for (let i = 0; i < 40; i++) conns.push(await openRaw(proxy.url, t.teardown));
  let sent = 0;
  const trickle = setInterval(() => {
    for (const c of conns) if (!c.socket.destroyed) c.write(head[sent % head.length]);
    sent++;
  }, 100);
  t.teardown(() => clearInterval(trickle));
  t.equal((await request(`${proxy.url}/normal`)).status, 200, 'a normal client is served meanwhile');
  const answers = await Promise.all(conns.map((c) => c.closed(6000)));
  clearInterval(trickle);
  t.same([...new Set(answers.map((a) => statusLines(a).join(',')))], ['408'], 'every trickling client got 408 and was closed');
  t.notOk(legacy.seen.some((s) => s.url === '/slow'), 'no partial request reached legacy');
  await eventually(async () => (await openConnections(proxy.proxy.server)) === 0);
  t.match(await proxy.proxy.metrics.render(), /strangler_rejected_total\{reason="header-timeout"\} 40/);
});

t.test('an idle kept-alive connection is closed at limits.keepAliveTimeout', async (t) => {
  const { proxy } = await startProxyFixture(t, { extra: 'limits:\n  keepAliveTimeout: 300ms' });
  const conn = await openRaw(proxy.url, t.teardown);
  conn.write('GET /one HTTP/1.1\r\nHost: a\r\n\r\n');
  await conn.waitFor(/"upstream":"legacy"/);
  const all = await conn.closed(3000);
  t.same(statusLines(all), [200], 'answered once, then closed by the proxy when idle');
});

t.test('connections over limits.maxConnections are refused at accept and counted', async (t) => {
  const { proxy } = await startProxyFixture(t, { extra: 'limits:\n  maxConnections: 5' });
  const held: RawConnection[] = [];
  for (let i = 0; i < 5; i++) {
    const c = await openRaw(proxy.url, t.teardown);
    c.write('GET /hold HTTP/1.1\r\nHost: a\r\n\r\n');
    await c.waitFor(/200 OK/);
    held.push(c);
  }
  const extra = await openRaw(proxy.url, t.teardown);
  extra.write('GET /over HTTP/1.1\r\nHost: a\r\n\r\n');
  const answer = await extra.closed(3000);
  t.equal(answer, '', 'the sixth connection is closed without an answer');
  t.match(await proxy.proxy.metrics.render(), /strangler_rejected_total\{reason="connection-limit"\} 1/);
  held.forEach((c) => c.destroy());
  await eventually(async () => (await openConnections(proxy.proxy.server)) === 0);
  t.equal((await request(`${proxy.url}/after`)).status, 200, 'accepted again once connections closed');
});
