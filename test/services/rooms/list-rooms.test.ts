import t from 'tap';
import { startRooms } from '../../../services/rooms/server.ts';
import { fetchJson, withoutNoise } from '../../helpers/fetch-json.ts';
import { createTimingDb, DATABASE_KINDS } from '../../helpers/timing-db.ts';

// The fixture's rooms as the contract's ROOM_SUMMARY, written out key by key.
const SUMMARY: Record<number, string> = {
  1: '{"id":1,"name":"Quiet Math Room","topic":"math","capacity":20,"member_count":12,"is_public":true,"owner":{"id":3,"name":"Grace Hopper"},"created_at":"2026-01-02T03:04:05Z"}',
  2: '{"id":2,"name":"Late Night Physics","topic":"physics","capacity":8,"member_count":0,"is_public":false,"owner":{"id":2,"name":"Alan Turing"},"created_at":"2026-01-05T22:30:00Z"}',
  3: '{"id":3,"name":"Math Olympiad Prep","topic":"math","capacity":30,"member_count":2,"is_public":true,"owner":{"id":1,"name":"Ada Lovelace"},"created_at":"2026-01-10T14:00:00Z"}',
  4: '{"id":4,"name":"Échange de langues ☕","topic":"languages","capacity":12,"member_count":1,"is_public":true,"owner":{"id":13,"name":"Katherine Johnson"},"created_at":"2026-02-14T08:15:30Z"}',
  5: '{"id":5,"name":"Deep Work","topic":"focus","capacity":50,"member_count":3,"is_public":false,"owner":{"id":1,"name":"Ada Lovelace"},"created_at":"2026-03-03T03:03:03Z"}',
};

function page(ids: number[], pageNo: number, perPage: number, total: number): string {
  const data = ids.map((id) => SUMMARY[id]).join(',');
  return `{"data":[${data}],"page":${pageNo},"per_page":${perPage},"total":${total}}`;
}

for (const { kind, skip } of DATABASE_KINDS) {
  t.test(`GET /api/rooms on ${kind}`, { skip }, async (t) => {
    const { url: databaseUrl } = await createTimingDb(t, kind);
    const rooms = await startRooms({ databaseUrl, port: 0, logger: false });
    t.teardown(() => rooms.stop());
    const get = (query: string) => fetchJson(`${rooms.url}/api/rooms${query}`);

    t.test('first page with defaults: every room in id order, contract shape', async (t) => {
      const res = await get('');
      t.equal(res.status, 200);
      t.equal(withoutNoise(t, res), page([1, 2, 3, 4, 5], 1, 20, 5));
    });

    t.test('pages by per_page, total counts every room', async (t) => {
      t.equal(withoutNoise(t, await get('?per_page=2')), page([1, 2], 1, 2, 5));
      t.equal(withoutNoise(t, await get('?per_page=2&page=2')), page([3, 4], 2, 2, 5));
      t.equal(withoutNoise(t, await get('?page=3&per_page=2')), page([5], 3, 2, 5));
      t.equal(withoutNoise(t, await get('?page=4&per_page=2')), page([], 4, 2, 5));
      t.equal(withoutNoise(t, await get('?page=9007199254740991')), page([], 9007199254740991, 20, 5));
    });

    t.test('topic filters exactly, total counts the filtered rooms', async (t) => {
      t.equal(withoutNoise(t, await get('?topic=math')), page([1, 3], 1, 20, 2));
      t.equal(withoutNoise(t, await get('?topic=math&per_page=1&page=2')), page([3], 2, 1, 2));
      // The comparison is the engine's, as in legacy's own WHERE topic = ?: SQLite compares
      // bytes, MySQL's default utf8mb4 collation ignores case.
      const caseFolded = kind === 'mysql' ? page([1, 3], 1, 20, 2) : page([], 1, 20, 0);
      t.equal(withoutNoise(t, await get('?topic=Math')), caseFolded, 'case as the engine compares');
      t.equal(withoutNoise(t, await get('?topic=mat')), page([], 1, 20, 0), 'no prefix match');
      t.equal(withoutNoise(t, await get('?topic=')), page([1, 2, 3, 4, 5], 1, 20, 5), 'empty = none');
    });

    t.test('query strings read as PHP reads them, as legacy does', async (t) => {
      t.equal(withoutNoise(t, await get('?page=02&per_page=002')), page([3, 4], 2, 2, 5), 'leading zeros');
      t.equal(withoutNoise(t, await get('?page=1&page=3&per_page=2')), page([5], 3, 2, 5), 'last wins');
      t.equal(withoutNoise(t, await get('?per.page=1')), page([1], 1, 1, 5), 'per.page is per_page');
      t.equal(withoutNoise(t, await get('?topic[]=math')), page([1, 2, 3, 4, 5], 1, 20, 5), 'array topic ignored');
      const arrayPage = await get('?page[]=1');
      t.equal(arrayPage.status, 400, 'array page');
      t.equal(arrayPage.text, '{"error":"page must be a positive integer"}');
    });

    t.test('per_page above 100 is clamped to 100', async (t) => {
      t.equal(withoutNoise(t, await get('?per_page=1000')), page([1, 2, 3, 4, 5], 1, 100, 5));
      t.equal(withoutNoise(t, await get('?per_page=100')), page([1, 2, 3, 4, 5], 1, 100, 5));
    });

    t.test('page or per_page not a positive integer: 400 without noise fields', async (t) => {
      for (const bad of ['0', '-1', 'abc', '1.5', '', '+1', '1e3', ' 1', '99999999999999999999']) {
        const q = encodeURIComponent(bad);
        const p = await get(`?page=${q}`);
        t.equal(p.status, 400, `page=${JSON.stringify(bad)}`);
        t.equal(p.text, '{"error":"page must be a positive integer"}');
        t.equal(p.headers.get('content-type'), 'application/json; charset=utf-8');
        const pp = await get(`?per_page=${q}`);
        t.equal(pp.status, 400, `per_page=${JSON.stringify(bad)}`);
        t.equal(pp.text, '{"error":"per_page must be a positive integer"}');
      }
    });

    t.test('types are exact: integers, booleans, ISO 8601 UTC datetimes', async (t) => {
      const { body } = await get('');
      for (const room of body.data) {
        t.ok(Number.isInteger(room.id) && Number.isInteger(room.capacity));
        t.ok(Number.isInteger(room.member_count) && Number.isInteger(room.owner.id));
        t.type(room.is_public, 'boolean');
        t.match(room.created_at, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
      }
    });

    t.test('every response has its own request id', async (t) => {
      const a = await get('');
      const b = await get('');
      t.not(a.body.request_id, b.body.request_id);
    });
  });
}
