import t from 'tap';
import { request } from '../helpers/http.ts';
import { json, startShadowFixture } from './shadow-fixture.ts';

const ROOM = { id: 7, name: 'Quiet room', price: 10, tags: ['a', 'b'], generated_at: '2026-11-25T10:00:00Z', meta: { trace: 'l-1', host: 'php-1' } };
const RULES = `    compare: { ignore: [$.generated_at, $.meta.*], tolerance: { $.price: 0.01 }, unordered: [$.tags] }`;

t.test("a candidate differing only where the route's compare: rules allow is a stored match", async (t) => {
  const { proxy, outcomes } = await startShadowFixture(t, {
    legacy: json(() => ROOM),
    candidate: json(() => ({ ...ROOM, price: 10.004, tags: ['b', 'a'], generated_at: '2026-12-01T09:00:00Z', meta: { trace: 's-9', host: 'node-2' } })),
    route: RULES,
  });
  const reply = await request(`${proxy.url}/api/rooms/7`);
  t.same(reply.json(), ROOM, 'the client gets legacy');
  t.same(await outcomes(), { match: 1 }, 'ignored paths, a number within tolerance and a reordered unordered array all match');
  const [example] = await proxy.proxy.store!.list({ outcome: 'match', limit: 1 });
  t.same(example.differences, [], 'no difference is recorded');
});

t.test('the same candidate without the rules is a mismatch at each of those paths', async (t) => {
  const { proxy, stored } = await startShadowFixture(t, {
    legacy: json(() => ROOM),
    candidate: json(() => ({ ...ROOM, price: 10.004, tags: ['b', 'a'], generated_at: '2026-12-01T09:00:00Z', meta: { trace: 's-9', host: 'node-2' } })),
  });
  t.equal((await request(`${proxy.url}/api/rooms/7`)).status, 200);
  const [row] = await stored(1);
  t.equal(row.outcome, 'mismatch');
  t.same(row.differences.map((d) => d.path).sort(), ['$.generated_at', '$.meta.host', '$.meta.trace', '$.price', '$.tags[0]', '$.tags[1]']);
});

t.test('with the rules, a difference outside them is still a mismatch naming only that path', async (t) => {
  const { proxy, stored } = await startShadowFixture(t, {
    legacy: json(() => ROOM),
    candidate: json(() => ({ ...ROOM, price: 10.5, generated_at: 'later', meta: { trace: 's-9', host: 'node-2' } })),
    route: RULES,
  });
  t.equal((await request(`${proxy.url}/api/rooms/7`)).status, 200);
  const [row] = await stored(1);
  t.equal(row.outcome, 'mismatch');
  t.same(row.differences, [{ path: '$.price', kind: 'changed', primary: 10, candidate: 10.5 }], 'beyond the tolerance; the ignored paths are not listed');
});
