import path from 'node:path';
import t, { type Test } from 'tap';
import { startLegacy } from '../../legacy/start-legacy.ts';
import { migrateLatest } from '../../migrations/migrate.ts';
import { startRooms } from '../../services/rooms/server.ts';
import { runCli } from '../helpers/cli.ts';
import { eventually, request, type Reply } from '../helpers/http.ts';
import { phpSkipReason } from '../helpers/legacy.ts';
import { ROOMS_ROUTES, startTestProxy } from '../helpers/proxy.ts';
import { createTestDatabase, mysqlSkipReason } from '../helpers/mysql.ts';

const PATHS = [
  '/api/rooms',
  '/api/rooms?page=3&per_page=50',
  '/api/rooms?topic=math&per_page=100',
  '/api/rooms?per_page=500',
  '/api/rooms?page=0',
  '/api/rooms?per_page=abc',
  '/api/rooms/1',
  '/api/rooms/150',
  '/api/rooms/300',
  '/api/rooms/301',
  '/api/rooms/abc',
];

/** The noise legacy adds on purpose: timestamps, request ids, and tags in random order. */
function normalize(reply: Reply) {
  const body = reply.json();
  delete body.generated_at;
  delete body.request_id;
  if (Array.isArray(body.data?.tags)) body.data.tags.sort();
  return { status: reply.status, contentType: reply.headers['content-type'], body };
}

async function parity(t: Test, dir: string, databaseUrl: string) {
  const legacy = await startLegacy({ databaseUrl, port: 0, workers: 2 });
  t.teardown(() => legacy.stop());
  await migrateLatest({ databaseUrl });
  const rooms = await startRooms({ databaseUrl, port: 0, logger: false });
  t.teardown(() => rooms.stop());
  const proxy = await startTestProxy({
    dir,
    legacy: legacy.url,
    services: { rooms: rooms.url },
    routes: ROOMS_ROUTES,
    extra: 'testers:\n  secret: qa-tester-0123456789',
  });
  t.teardown(() => proxy.close());

  for (const p of PATHS) {
    const viaLegacy = await request(proxy.url + p, { headers: { 'x-strangler-force': 'legacy', 'x-strangler-secret': 'qa-tester-0123456789' } });
    const viaService = await request(proxy.url + p, { headers: { 'x-strangler-force': 'service', 'x-strangler-secret': 'qa-tester-0123456789' } });
    t.equal(viaLegacy.headers['x-strangler-target'], 'legacy');
    t.equal(viaService.headers['x-strangler-target'], 'rooms');
    t.same(normalize(viaService), normalize(viaLegacy), `${p}: the service answers like the monolith`);
  }

  // the flag path, not only the tester override: off → legacy, on → rooms, same JSON
  const before = await request(`${proxy.url}/api/rooms/42`);
  t.equal(before.headers['x-strangler-target'], 'legacy', 'flag off: legacy answers');
  t.equal((await runCli(['shift', 'rooms-get', '100', '--config', proxy.configFile])).code, 0);
  const after = await eventually(async () => {
    const r = await request(`${proxy.url}/api/rooms/42`);
    return r.headers['x-strangler-target'] === 'rooms' ? r : undefined;
  });
  t.same(normalize(after), normalize(before), 'flag on: the rooms service answers with the same JSON');
}

t.test('through real PHP on SQLite: flag off and on give the same rooms JSON', { skip: phpSkipReason }, async (t) => {
  const dir = t.testdir();
  await parity(t, dir, `sqlite:${path.join(dir, 'timing.sqlite')}`);
});

t.test('through real PHP on MySQL/MariaDB: flag off and on give the same rooms JSON', { skip: phpSkipReason || mysqlSkipReason }, async (t) => {
  const db = await createTestDatabase('parity');
  t.teardown(() => db.drop());
  await parity(t, t.testdir(), db.url);
});
