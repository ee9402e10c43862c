import t from 'tap';
import { runCli } from '../helpers/cli.ts';
import { createTimingDb } from '../helpers/timing-db.ts';

t.test('strangler migrate applies the services\' migrations once, and rolls them back', async (t) => {
  const { url, db } = await createTimingDb(t, 'sqlite', { fixture: false });
  const first = await runCli(['migrate', '--database-url', url]);
  t.equal(first.code, 0, first.stderr);
  t.match(first.stdout, /applied: 20261125100000_add_rooms_read_indexes\.ts/);
  const indexes = await db.raw("select name from sqlite_master where type = 'index' and name like '%_index'");
  t.same(indexes.map((r: { name: string }) => r.name).sort(), ['room_members_room_id_joined_at_index', 'rooms_topic_id_index']);
  const again = await runCli(['migrate', '--database-url', url]);
  t.match(again.stdout, /already up to date/);
  const back = await runCli(['migrate', '--database-url', url, '--rollback']);
  t.match(back.stdout, /rolled back: 20261125100000_add_rooms_read_indexes\.ts/);
});

t.test('strangler migrate before legacy created its tables says what to do', async (t) => {
  const { url } = await createTimingDb(t, 'sqlite', { schema: false });
  const res = await runCli(['migrate', '--database-url', url]);
  t.equal(res.code, 1);
  t.match(res.stderr, /legacy/i);
});
