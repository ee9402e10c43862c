import t from 'tap';
import { buildApp } from '../../../services/rooms/app.ts';
import { createDb } from '../../../services/rooms/db.ts';
import { fetchJson } from '../../helpers/fetch-json.ts';
import { createTimingDb, DATABASE_KINDS } from '../../helpers/timing-db.ts';

for (const { kind, skip } of DATABASE_KINDS) {
  t.test(`GET /healthz on ${kind}`, { skip }, async (t) => {
    const { url } = await createTimingDb(t, kind, { fixture: false });
    const db = createDb(url);
    const app = buildApp({ db });
    t.teardown(async () => {
      await app.close();
      await db.destroy();
    });
    const base = await app.listen({ host: '127.0.0.1', port: 0 });

    const up = await fetchJson(`${base}/healthz`);
    t.equal(up.status, 200);
    t.equal(up.text, '{"status":"ok"}');
    t.equal(up.headers.get('content-type'), 'application/json; charset=utf-8');

    await db.destroy();
    const down = await fetchJson(`${base}/healthz`);
    t.equal(down.status, 503, 'the database is gone: unavailable');
    t.equal(down.text, '{"status":"unavailable"}');
  });
}

t.test('a route the service does not have: 404 JSON, with a request id header', async (t) => {
  const db = createDb(`sqlite:${t.testdir()}/empty.sqlite`);
  const app = buildApp({ db });
  t.teardown(async () => {
    await app.close();
    await db.destroy();
  });
  const res = await app.inject({ method: 'GET', url: '/api/diaries' });
  t.equal(res.statusCode, 404);
  t.equal(res.body, '{"error":"not found"}');
  t.equal(res.headers['content-type'], 'application/json; charset=utf-8');
  t.match(res.headers['x-request-id'], /^[0-9a-f]{16}$/);
});

t.test('a database error is a 500 JSON body, not a stack trace', async (t) => {
  const db = createDb(`sqlite:${t.testdir()}/empty.sqlite`);
  const app = buildApp({ db });
  t.teardown(async () => {
    await app.close();
    await db.destroy();
  });
  const res = await app.inject({ method: 'GET', url: '/api/rooms' });
  t.equal(res.statusCode, 500, 'no rooms table');
  t.equal(res.body, '{"error":"internal error"}');
});
