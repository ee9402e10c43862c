import t from 'tap';
import { createTestDatabase, mysqlSkipReason } from '../helpers/mysql.ts';
import { ISO_UTC, phpSkipReason, request, startTestLegacy } from '../helpers/legacy.ts';

t.test('legacy on MySQL/MariaDB', { skip: phpSkipReason || mysqlSkipReason }, async (t) => {
  const db = await createTestDatabase('legacy');
  t.teardown(() => db.drop());
  const { url } = await startTestLegacy(t, db.url);

  t.test('lists rooms with typed fields (PDO MySQL returns strings; the API must not)', async (t) => {
    const res = await request(url, '/api/rooms?per_page=5&page=2');
    t.equal(res.status, 200);
    t.equal(res.body.total, 300);
    t.same(res.body.data.map((r: { id: number }) => r.id), [6, 7, 8, 9, 10]);
    const room = res.body.data[0];
    t.same(
      [typeof room.id, typeof room.capacity, typeof room.member_count, typeof room.is_public, typeof room.owner.id],
      ['number', 'number', 'number', 'boolean', 'number'],
    );
    t.match(room.created_at, ISO_UTC);
  });

  t.test('shows a room and 404s an unknown one', async (t) => {
    const res = await request(url, '/api/rooms/1');
    t.equal(res.status, 200);
    t.equal(res.body.data.id, 1);
    t.ok(res.body.data.tags.length >= 1);
    t.ok(res.body.data.members.every((m: { id: unknown }) => typeof m.id === 'number'));
    const missing = await request(url, '/api/rooms/301');
    t.same([missing.status, missing.body], [404, { error: 'room not found' }]);
  });
});
