import type http from 'node:http';
import t, { type Test } from 'tap';
import { eventually, request, startUpstream } from '../helpers/http.ts';
import { on, startTestProxy } from '../helpers/proxy.ts';

/** A service that holds every request until release() is called. */
async function heldService(t: Test) {
  const held: http.ServerResponse[] = [];
  const service = await startUpstream('rooms', (req, res) => {
    req.resume();
    held.push(res);
  });
  t.teardown(() => service.close());
  return {
    service,
    held,
    release() {
      for (const res of held.splice(0)) res.end('{"upstream":"rooms"}');
    },
  };
}

async function setup(t: Test, serviceUrl: string, extra: string, limit = '') {
  const legacy = await startUpstream('legacy');
  const proxy = await startTestProxy({
    dir: t.testdir(),
    legacy: legacy.url,
    services: { rooms: serviceUrl },
    features: [on('rooms-get')],
    extra,
    routes: `
  - name: rooms-get
    match: GET /api/rooms/:id
    service: rooms
${limit}`,
  });
  t.teardown(async () => {
    await proxy.close();
    await legacy.close();
  });
  return { proxy, legacy };
}

t.test('over a route concurrency limit: 503 + Retry-After at once, admitted requests succeed, other routes unaffected', async (t) => {
  const { service, held, release } = await heldService(t);
  const { proxy } = await setup(t, service.url, 'limits:\n  retryAfter: 2s', '    limit: { concurrent: 2 }');
  const admitted = [request(`${proxy.url}/api/rooms/1`), request(`${proxy.url}/api/rooms/2`)];
  await eventually(() => held.length === 2);
  const over = await Promise.all([1, 2, 3].map((i) => request(`${proxy.url}/api/rooms/${10 + i}`)));
  for (const res of over) {
    t.equal(res.status, 503);
    t.equal(res.headers['retry-after'], '2');
    t.match(res.json(), { error: { code: 'STRANGLER_ERR_OVERLOADED', message: /2 requests of route rooms-get in flight .*retry after 2 s/ } });
  }
  const other = await request(`${proxy.url}/elsewhere`);
  t.equal(other.status, 200, 'an unlimited route (legacy) keeps answering during the burst');
  release();
  for (const res of await Promise.all(admitted)) t.equal(res.status, 200, 'the admitted requests complete');
  t.equal(service.seen.length, 2, 'shed requests never reached the service');
  const again = request(`${proxy.url}/api/rooms/5`);
  await eventually(() => held.length === 1);
  release();
  const answered = await again;
  t.equal(answered.status, 200, 'below the limit again: admitted');
  t.equal(answered.json().upstream, 'rooms', 'and answered by the service');
  t.equal(proxy.proxy.state.shedder.stats.shed['route-concurrency'], 3);
  await eventually(() => proxy.logs.filter((l) => l.shed === 'route-concurrency' && l.status === 503).length === 3);
});

t.test('a global concurrency limit covers every route', async (t) => {
  const { service, held, release } = await heldService(t);
  const { proxy } = await setup(t, service.url, 'limits:\n  maxConcurrent: 1');
  const first = request(`${proxy.url}/api/rooms/1`);
  await eventually(() => held.length === 1);
  const res = await request(`${proxy.url}/anything`);
  t.equal(res.status, 503);
  t.equal(res.headers['retry-after'], '1');
  t.match(res.json().error.message, /1 requests in flight \(limits.maxConcurrent\)/);
  release();
  t.equal((await first).status, 200);
  t.equal((await request(`${proxy.url}/anything`)).status, 200);
});

t.test('a route rate limit admits about rate per second and sheds the rest', async (t) => {
  const service = await startUpstream('rooms');
  t.teardown(() => service.close());
  const { proxy } = await setup(t, service.url, '', '    limit: { rate: 5/s }');
  const results = await Promise.all(Array.from({ length: 12 }, (_, i) => request(`${proxy.url}/api/rooms/${i}`)));
  const ok = results.filter((r) => r.status === 200).length;
  const shed = results.filter((r) => r.status === 503).length;
  t.equal(ok + shed, 12);
  t.ok(ok >= 5 && ok <= 6, `a burst gets the bucket's 5 (saw ${ok})`);
  t.match(results.find((r) => r.status === 503)!.json().error.message, /over its limit.rate of 5\/s/);
});

t.test('routes.yaml: limits and a route limit are validated with their line', async (t) => {
  const { validateConfig } = await import('../../proxy/config/validate-config.ts');
  const { problems } = validateConfig('legacy: http://127.0.0.1:1\nservices:\n  a: http://127.0.0.1:2\nlimits:\n  maxConcurent: 5\nroutes:\n  - name: x\n    match: GET /x\n    service: a\n    limit: { rate: fast }\n', '/r.yaml', {});
  t.equal(problems.length, 2);
  t.ok(problems.some((p) => p.line === 5 && /unknown key "maxConcurent"; did you mean "maxConcurrent"\?/.test(p.message)), 'a typo in limits: names the key');
  t.ok(problems.some((p) => p.line === 10 && /"fast" is not a rate; write e.g. rate: 200\/s or 600\/m/.test(p.message)), 'a bad rate says how to write one');
});

t.test('a global rate limit sheds the excess of a burst', async (t) => {
  const service = await startUpstream('rooms');
  t.teardown(() => service.close());
  const { proxy } = await setup(t, service.url, 'limits:\n  rate: 4/s');
  const results = await Promise.all(Array.from({ length: 10 }, (_, i) => request(`${proxy.url}/anything/${i}`)));
  const ok = results.filter((r) => r.status === 200).length;
  t.ok(ok >= 4 && ok <= 5, `the bucket's 4 get through (saw ${ok})`);
  t.match(results.find((r) => r.status === 503)!.json().error.message, /over limits.rate of 4\/s/);
});

t.test('while the event loop lags past maxEventLoopDelay, new requests are shed; the admin /healthz still answers', async (t) => {
  const service = await startUpstream('rooms');
  t.teardown(() => service.close());
  const { proxy } = await setup(t, service.url, 'limits:\n  maxEventLoopDelay: 20ms\nadmin:\n  listen: 127.0.0.1:0\n  readToken: read-token-0123456789abcdef');
  const { startAdmin } = await import('../../proxy/admin/start-admin.ts');
  const pino = (await import('pino')).default;
  const admin = await startAdmin(proxy.proxy, proxy.proxy.state.config, pino({ level: 'silent' }));
  t.teardown(() => admin.stop());
  t.equal((await request(`${proxy.url}/before`)).status, 200, 'a responsive proxy admits');
  // block the loop in 60 ms slices, as an overloaded proxy would
  const busy = setInterval(() => {
    const until = Date.now() + 60;
    while (Date.now() < until);
  }, 5);
  t.teardown(() => clearInterval(busy));
  const shed = await eventually(async () => {
    const res = await request(`${proxy.url}/during`);
    return res.status === 503 ? res : undefined;
  });
  t.match(shed.json().error.message, /event loop lags \d+ ms \(limits.maxEventLoopDelay 20 ms\)/);
  t.equal((await request(`${admin.url}/healthz`)).status, 200, 'the admin /healthz keeps answering');
  clearInterval(busy);
  await eventually(async () => (await request(`${proxy.url}/after`)).status === 200, { timeoutMs: 5000 });
  t.pass('admitted again once the loop recovers');
});
