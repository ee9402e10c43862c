import t from 'tap';
import { ISO_UTC, phpSkipReason, request, sessionCookie, startTestLegacy } from '../helpers/legacy.ts';

t.test('legacy leaderboard, HTML pages and error answers', { skip: phpSkipReason }, async (t) => {
  const { url } = await startTestLegacy(t);

  t.test('the weekly leaderboard is populated and sorted by minutes', async (t) => {
    const res = await request(url, '/api/leaderboard');
    t.equal(res.status, 200);
    t.same(Object.keys(res.body), ['data', 'week_start', 'generated_at', 'request_id']);
    t.match(res.body.week_start, ISO_UTC);
    const weekAgo = Date.now() - 7 * 86400_000;
    t.ok(Math.abs(Date.parse(res.body.week_start) - weekAgo) < 60_000, 'week_start is 7 days ago');
    const rows = res.body.data;
    t.ok(rows.length > 0 && rows.length <= 20, `${rows.length} rows`);
    t.same(Object.keys(rows[0]), ['rank', 'user', 'minutes', 'checkins']);
    t.same(rows.map((r: { rank: number }) => r.rank), rows.map((_: unknown, i: number) => i + 1));
    for (let i = 1; i < rows.length; i++) t.ok(rows[i - 1].minutes >= rows[i].minutes, `rank ${i} >= rank ${i + 1}`);
  });

  t.test('the home page is HTML that links the real stylesheet and script', async (t) => {
    const home = await request(url, '/');
    t.equal(home.status, 200);
    t.match(home.headers.get('content-type'), /^text\/html/);
    t.match(home.body, '<link rel="stylesheet" href="/assets/app.css">');
    t.match(home.body, '/assets/app.js');
    t.match(home.body, /Popular rooms/);
    t.match(home.body, /href="\/rooms\/\d+"/);

    const css = await request(url, '/assets/app.css');
    t.equal(css.status, 200);
    t.match(css.headers.get('content-type'), /^text\/css/);
    t.match(css.body, /body \{/);
    const js = await request(url, '/assets/app.js');
    t.equal(js.status, 200);
    t.match(js.headers.get('content-type'), /javascript/);
    const escape = await request(url, '/assets/..%2Fsrc%2FApp.php');
    t.equal(escape.status, 404, 'nothing outside public/assets is served');
  });

  t.test('room page, login form, diary redirect', async (t) => {
    const room = await request(url, '/rooms/1');
    t.equal(room.status, 200);
    t.match(room.body, /<h1>[^<]+<\/h1>/);
    const missing = await request(url, '/rooms/999');
    t.equal(missing.status, 404);
    t.match(missing.headers.get('content-type'), /^text\/html/);

    const diaryAnon = await request(url, '/diary');
    t.equal(diaryAnon.status, 302);
    t.equal(diaryAnon.headers.get('location'), '/login');

    const form = await request(url, '/login');
    t.match(form.body, /<form method="post" action="\/login">/);
    const res = await fetch(`${url}/login`, {
      method: 'POST',
      body: new URLSearchParams({ email: 'demo@timing.test', password: 'timing' }),
      redirect: 'manual',
    });
    await res.text();
    t.equal(res.status, 303);
    t.equal(res.headers.get('location'), '/');
    const cookie = sessionCookie({ status: res.status, headers: res.headers, body: '' });
    t.ok(cookie);
    const diary = await request(url, '/diary', { cookie });
    t.equal(diary.status, 200);
    t.match(diary.body, /My diary/);

    const logout = await request(url, '/logout', { method: 'POST', cookie });
    t.equal(logout.status, 303);
    const after = await request(url, '/api/me', { cookie });
    t.equal(after.status, 401, 'session gone after logout');
  });

  t.test('unknown paths and wrong methods', async (t) => {
    const api = await request(url, '/api/nope');
    t.same([api.status, api.body], [404, { error: 'not found' }]);
    const page = await request(url, '/nope');
    t.equal(page.status, 404);
    t.match(page.headers.get('content-type'), /^text\/html/);

    const wrong = await request(url, '/api/rooms', { method: 'DELETE' });
    t.same([wrong.status, wrong.body], [405, { error: 'method not allowed' }]);
    t.match(wrong.headers.get('allow'), /GET/);
    const wrongPage = await request(url, '/diary', { method: 'POST' });
    t.equal(wrongPage.status, 405);

    const badJson = await request(url, '/api/login', { method: 'POST', rawBody: 'not json' });
    t.same([badJson.status, badJson.body], [400, { error: 'invalid JSON body' }]);
  });
});
