import t from 'tap';
import { request } from '../helpers/http.ts';
import { startProxyFixture } from '../helpers/proxy.ts';
import { rawExchange, statusLines } from './helpers/raw-client.ts';

/** Defect 12: headers a client (or an upstream) sends to pass for someone else. */

const FORGED = {
  'x-forwarded-for': '6.6.6.6',
  'x-forwarded-proto': 'https',
  'x-forwarded-host': 'bank.example',
  'x-forwarded-port': '443',
  'x-real-ip': '6.6.6.6',
  forwarded: 'for=6.6.6.6;proto=https',
  'x-strangler-copy': '1',
  'x-strangler-target': 'rooms',
  'x-strangler-error': 'none',
};

t.test('by default no client-sent forwarding header or x-strangler-* marker reaches an upstream', async (t) => {
  const { proxy, legacy } = await startProxyFixture(t);
  await request(`${proxy.url}/who`, { headers: FORGED });
  const seen = legacy.seen[0].headers;
  t.equal(seen['x-forwarded-for'], '127.0.0.1', 'X-Forwarded-For is the peer only');
  t.equal(seen['x-forwarded-proto'], 'http');
  t.equal(seen['x-forwarded-host'], new URL(proxy.url).host);
  t.equal(seen['x-forwarded-port'], new URL(proxy.url).port);
  t.equal(seen['x-real-ip'], undefined);
  t.equal(seen.forwarded, undefined);
  t.equal(seen['x-strangler-copy'], undefined, 'a client cannot pass its request off as a shadow copy');
  t.equal(seen['x-strangler-target'], undefined);
  t.equal(seen['x-strangler-error'], undefined);
});

t.test('behind a trusted load balancer its forwarding headers are kept and appended to', async (t) => {
  const { proxy, legacy } = await startProxyFixture(t, { extra: 'forwarded:\n  trust: [127.0.0.1/32, "::1"]' });
  await request(`${proxy.url}/who`, { headers: FORGED });
  const seen = legacy.seen[0].headers;
  t.equal(seen['x-forwarded-for'], '6.6.6.6, 127.0.0.1');
  t.equal(seen['x-forwarded-proto'], 'https');
  t.equal(seen['x-forwarded-host'], 'bank.example');
  t.equal(seen['x-strangler-copy'], undefined, 'markers are never believed, whoever sends them');
});

t.test('two Host headers: 400, nothing forwarded', async (t) => {
  const { proxy, legacy } = await startProxyFixture(t);
  const answer = await rawExchange(proxy.url, 'GET /x HTTP/1.1\r\nHost: a\r\nhost: b\r\nConnection: close\r\n\r\n');
  t.same(statusLines(answer), [400]);
  t.match(answer, /STRANGLER_ERR_DUPLICATE_HOST/);
  t.equal(legacy.seen.length, 0);
});

t.test("an upstream's own x-strangler-* headers never reach the client", async (t) => {
  const { proxy } = await startProxyFixture(t, {
    legacy: (_req, res) => {
      res.setHeader('x-strangler-target', 'rooms');
      res.setHeader('x-strangler-error', 'STRANGLER_ERR_OVERLOADED');
      res.end('hi');
    },
  });
  const res = await request(`${proxy.url}/x`);
  t.equal(res.headers['x-strangler-target'], 'legacy', "only the proxy's own target header");
  t.equal(res.headers['x-strangler-error'], undefined);
});
