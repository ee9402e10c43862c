import t, { type Test } from 'tap';
import { isSampled } from '../../proxy/shadow/is-sampled.ts';
import { request, startUpstream } from '../helpers/http.ts';
import { startTestProxy } from '../helpers/proxy.ts';

/** A proxy with one shadow route copying `sample` of its GETs to a recording service. */
async function setup(t: Test, sample: string) {
  const legacy = await startUpstream('legacy');
  const rooms = await startUpstream('rooms');
  const proxy = await startTestProxy({
    dir: t.testdir(),
    legacy: legacy.url,
    services: { rooms: rooms.url },
    extra: 'comparisons:\n  database: sqlite:comparisons.sqlite',
    routes: `
  - name: rooms
    match: GET /api/rooms/:id
    service: rooms
    stage: shadow
    shadow: { sample: ${sample}, noiseWarmup: 0, noiseSample: 0% }
`,
  });
  t.teardown(async () => {
    await proxy.close();
    await Promise.all([legacy.close(), rooms.close()]);
  });
  /** sends n requests, `batch` at a time; resolves once every copy has finished */
  const send = async (n: number, batch = 50) => {
    for (let i = 0; i < n; i += batch) {
      const replies = await Promise.all(Array.from({ length: Math.min(batch, n - i) }, (_, j) => request(`${proxy.url}/api/rooms/${i + j}`)));
      for (const reply of replies) if (reply.status !== 200) throw new Error(`client got ${reply.status}`);
    }
    await proxy.proxy.state.shadow.idle();
  };
  return { legacy, rooms, proxy, send };
}

t.test('isSampled: a request is copied when its draw falls below the share', async (t) => {
  t.equal(isSampled(0.1, 0), true, 'the lowest draw is inside 10 %');
  t.equal(isSampled(0.1, 0.0999), true, 'just below the share: copied');
  t.equal(isSampled(0.1, 0.1), false, 'the share itself is outside');
  t.equal(isSampled(0.1, 0.9999), false);
  t.equal(isSampled(0, 0), false, '0 % never copies, not even the lowest draw');
  t.equal(isSampled(1, 0.9999999), true, '100 % copies every draw in [0, 1)');
});

t.test('shadow.sample 10 % over 2000 requests copies about 200 (binomial, ±60 is more than 4 standard deviations)', async (t) => {
  const { legacy, rooms, proxy, send } = await setup(t, '10%');
  await send(2000);
  t.equal(legacy.seen.length, 2000, 'every client was answered by legacy');
  const copies = rooms.seen.length;
  t.ok(copies >= 140 && copies <= 260, `the service got ${copies} copies of 2000 requests`);
  t.equal(proxy.proxy.state.shadow.stats().started, copies, 'each copy started reached the service');
});

t.test('shadow.sample 0 % copies nothing and stores nothing', async (t) => {
  const { legacy, rooms, proxy, send } = await setup(t, '0%');
  await send(100);
  t.equal(legacy.seen.length, 100);
  t.equal(rooms.seen.length, 0, 'the service never got a copy');
  const store = proxy.proxy.store!;
  await store.flush();
  t.same(await store.counts({}), [], 'no comparison, not even a skip, is stored');
});
