import t from 'tap';
import { eventually, request, startUpstream } from '../helpers/http.ts';
import { startTestProxy } from '../helpers/proxy.ts';

t.test('shutdown: stops accepting, lets requests in flight finish, cuts what outlives the deadline', async (t) => {
  const held: Array<() => void> = [];
  const legacy = await startUpstream('legacy', (req, res) => {
    req.resume();
    if (req.url === '/slow') held.push(() => res.end('slow done'));
    else if (req.url !== '/hung') res.end('ok');
  });
  t.teardown(() => legacy.close());
  const proxy = await startTestProxy({ dir: t.testdir(), legacy: legacy.url });

  const slow = request(`${proxy.url}/slow`);
  const hung = request(`${proxy.url}/hung`).then(
    () => 'answered',
    () => 'cut',
  );
  await eventually(() => held.length === 1 && legacy.seen.some((r) => r.url === '/hung'));
  const events: string[] = [];
  const closing = proxy.proxy.close(500).then(() => events.push('closed'));
  await t.rejects(request(`${proxy.url}/new`), 'new connections are refused once shutdown starts');
  held[0]();
  t.equal((await slow).text, 'slow done', 'a request in flight finishes');
  events.push('slow finished');
  t.equal(await hung, 'cut', 'a request still in flight at the deadline is cut');
  await closing;
  t.same(events, ['slow finished', 'closed'], 'shutdown waited for the request in flight');
  t.ok(proxy.logs.some((l) => l.msg === 'requests still in flight at the shutdown deadline are cut'));
});
