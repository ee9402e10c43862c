import t from 'tap';
import { ISO_UTC, phpSkipReason, request, sessionCookie, startTestLegacy } from '../helpers/legacy.ts';

const DEMO = { email: 'demo@timing.test', password: 'timing' };

t.test('legacy session, join, check-ins and diaries', { skip: phpSkipReason }, async (t) => {
  const { url } = await startTestLegacy(t);
  const login = await request(url, '/api/login', { method: 'POST', json: DEMO });
  const cookie = sessionCookie(login);

  t.test('login answers the user and sets an HttpOnly PHPSESSID cookie', async (t) => {
    t.equal(login.status, 200);
    t.same(login.body.data, { id: 1, name: 'Demo Student', email: 'demo@timing.test' });
    t.ok(cookie, 'PHPSESSID set');
    const raw = login.headers.getSetCookie().find((c) => c.startsWith('PHPSESSID='));
    t.match(raw, /HttpOnly/i);
  });

  t.test('wrong password is 401 invalid credentials, with no session', async (t) => {
    const res = await request(url, '/api/login', { method: 'POST', json: { ...DEMO, password: 'nope' } });
    t.equal(res.status, 401);
    t.same(res.body, { error: 'invalid credentials' });
    t.equal(sessionCookie(res), undefined);
  });

  t.test('/api/me knows the session and is 401 without one', async (t) => {
    const me = await request(url, '/api/me', { cookie });
    t.equal(me.status, 200);
    t.same(me.body.data, { id: 1, name: 'Demo Student', email: 'demo@timing.test' });
    const anon = await request(url, '/api/me');
    t.equal(anon.status, 401);
    t.same(anon.body, { error: 'login required' });
    const forged = await request(url, '/api/me', { cookie: 'PHPSESSID=abcdefghijklmnopqrstuvwxyz012345' });
    t.equal(forged.status, 401);
  });

  t.test('joining a room is idempotent', async (t) => {
    const before = (await request(url, '/api/rooms/42')).body.data.member_count;
    const first = await request(url, '/api/rooms/42/join', { method: 'POST', cookie });
    t.equal(first.status, 200);
    t.same(Object.keys(first.body.data), ['room_id', 'user_id', 'joined_at', 'already_member']);
    t.equal(first.body.data.room_id, 42);
    t.equal(first.body.data.user_id, 1);
    t.equal(first.body.data.already_member, false);
    t.match(first.body.data.joined_at, ISO_UTC);

    const second = await request(url, '/api/rooms/42/join', { method: 'POST', cookie });
    t.equal(second.status, 200);
    t.equal(second.body.data.already_member, true);
    t.equal(second.body.data.joined_at, first.body.data.joined_at);

    const room = (await request(url, '/api/rooms/42')).body.data;
    t.equal(room.member_count, before + 1, 'one membership row, not two');
    t.equal(room.members[0].id, 1, 'newest member listed first');
  });

  t.test('join needs a session and a real room', async (t) => {
    const anon = await request(url, '/api/rooms/42/join', { method: 'POST' });
    t.same([anon.status, anon.body], [401, { error: 'login required' }]);
    const unknown = await request(url, '/api/rooms/4242/join', { method: 'POST', cookie });
    t.same([unknown.status, unknown.body], [404, { error: 'room not found' }]);
  });

  t.test('a check-in is created and listed newest first', async (t) => {
    const created = await request(url, '/api/checkins', {
      method: 'POST',
      cookie,
      json: { room_id: 42, minutes: 25, note: 'pomodoro one' },
    });
    t.equal(created.status, 201);
    const checkin = created.body.data;
    t.same(Object.keys(checkin), ['id', 'user_id', 'room_id', 'minutes', 'note', 'created_at']);
    t.match(checkin, { user_id: 1, room_id: 42, minutes: 25, note: 'pomodoro one' });
    t.match(checkin.created_at, ISO_UTC);

    const noRoom = await request(url, '/api/checkins', { method: 'POST', cookie, json: { minutes: 600 } });
    t.equal(noRoom.status, 201);
    t.same([noRoom.body.data.room_id, noRoom.body.data.note], [null, '']);

    const list = await request(url, '/api/users/1/checkins');
    t.equal(list.status, 200);
    t.ok(list.body.data.length <= 50 && list.body.data.length >= 2);
    t.same(list.body.data.slice(0, 2).map((c: { id: number }) => c.id), [noRoom.body.data.id, checkin.id]);
    const times = list.body.data.map((c: { created_at: string }) => c.created_at);
    t.same(times, [...times].sort().reverse(), 'sorted newest first');

    const unknown = await request(url, '/api/users/99999/checkins');
    t.same([unknown.status, unknown.body], [404, { error: 'user not found' }]);
  });

  t.test('invalid check-ins are refused', async (t) => {
    for (const json of [{ minutes: 0 }, { minutes: 601 }, { minutes: '30' }, { minutes: 30, room_id: 99999 }, { minutes: 30, note: 7 }]) {
      const res = await request(url, '/api/checkins', { method: 'POST', cookie, json });
      t.equal(res.status, 422, JSON.stringify(json));
      t.type(res.body.error, 'string');
    }
    const broken = await request(url, '/api/checkins', { method: 'POST', cookie, rawBody: '{"minutes":' });
    t.same([broken.status, broken.body], [400, { error: 'invalid JSON body' }]);
    const anon = await request(url, '/api/checkins', { method: 'POST', json: { minutes: 30 } });
    t.equal(anon.status, 401);
  });

  t.test('diaries are created and listed newest first', async (t) => {
    const created = await request(url, '/api/diaries', {
      method: 'POST',
      cookie,
      json: { title: 'Test day', body: 'Finished the problem set.', mood: 'focused' },
    });
    t.equal(created.status, 201);
    t.same(Object.keys(created.body.data), ['id', 'user_id', 'title', 'body', 'mood', 'created_at']);
    t.match(created.body.data, { user_id: 1, title: 'Test day', mood: 'focused' });

    const list = await request(url, '/api/diaries?user=1');
    t.equal(list.status, 200);
    t.equal(list.body.data[0].id, created.body.data.id);
    const times = list.body.data.map((d: { created_at: string }) => d.created_at);
    t.same(times, [...times].sort().reverse());

    const bad = await request(url, '/api/diaries', { method: 'POST', cookie, json: { title: 'x', body: 'y', mood: 'grumpy' } });
    t.equal(bad.status, 422);
    const noUser = await request(url, '/api/diaries');
    t.equal(noUser.status, 400);
    const badUser = await request(url, '/api/diaries?user=abc');
    t.equal(badUser.status, 400);
  });
});
