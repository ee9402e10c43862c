import path from 'node:path';
import t, { type Test } from 'tap';
import type { FastifyInstance } from 'fastify';
import { buildAdminApp, type Readiness } from '../../proxy/admin/admin-app.ts';
import { createAuditLog, type AuditLog } from '../../proxy/admin/audit-log.ts';
import { migrateProxyStore } from '../../migrations/migrate.ts';
import { createDb } from '../../services/shared/database.ts';
import { createTestDatabase, mysqlSkipReason } from '../helpers/mysql.ts';
import { createCapturingLogger, createFakeController, TOKENS } from '../helpers/admin.ts';

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const asOperator = bearer(TOKENS.operator);
const asReader = bearer(TOKENS.read);

interface Setup {
  app: FastifyInstance;
  audit: AuditLog;
  fake: ReturnType<typeof createFakeController>;
  lines: ReturnType<typeof createCapturingLogger>['lines'];
  readiness: Readiness;
}

/** an admin app over a real audit log in the database at `url`, emptied first */
async function setup(t: Test, url: string, options: { metrics?: boolean; tokens?: typeof TOKENS } = {}): Promise<Setup> {
  const db = createDb(url);
  t.teardown(() => db.destroy());
  await migrateProxyStore(db);
  await db('strangler_audit').delete();
  const audit = createAuditLog(db);
  const fake = createFakeController();
  const { logger, lines } = createCapturingLogger();
  const readiness: Readiness = { ready: true, checks: { flags: 'ok', store: 'ok' } };
  const app = buildAdminApp({
    controller: fake.controller,
    audit,
    tokens: options.tokens ?? TOKENS,
    logger,
    readiness: () => readiness,
    renderMetrics: options.metrics === false ? undefined : async () => ({ contentType: 'text/plain; version=0.0.4', body: 'strangler_up 1\n' }),
  });
  t.teardown(() => app.close());
  return { app, audit, fake, lines, readiness };
}

const sqlite = (t: Test) => `sqlite:${path.join(t.testdir(), 'proxy.sqlite')}`;

t.test('no token or a wrong token is refused with 401, logged without the token', async (t) => {
  const { app, lines } = await setup(t, sqlite(t));
  for (const headers of [{}, bearer('not-the-token'), { authorization: `Basic ${TOKENS.operator}` }, bearer(`${TOKENS.read}x`)]) {
    const res = await app.inject({ method: 'GET', url: '/routes', headers });
    t.equal(res.statusCode, 401, JSON.stringify(headers));
    t.equal(res.headers['www-authenticate'], 'Bearer');
    t.equal(res.json().error.code, 'STRANGLER_ERR_ADMIN_UNAUTHORIZED');
    t.match(res.json().error.message, /Authorization: Bearer <token>/);
  }
  const refusedWrite = await app.inject({ method: 'POST', url: '/routes/rooms-get/shift', payload: { percent: 50, reason: 'x' } });
  t.equal(refusedWrite.statusCode, 401, 'writes too');
  const unknownPath = await app.inject({ method: 'GET', url: '/secret' });
  t.equal(unknownPath.statusCode, 401, 'unknown paths need a token before they say 404');

  const warnings = lines.filter((l) => l.msg === 'admin request unauthorized');
  t.equal(warnings.length, 6, 'one warning per refused request');
  t.match(warnings[0], { level: 40, method: 'GET', url: '/routes', remoteAddress: '127.0.0.1', reason: 'no authorization header' });
  t.match(warnings[1], { reason: 'unknown token' });
  t.match(warnings[2], { reason: 'authorization is not a bearer token' });
  const log = JSON.stringify(lines);
  for (const secret of ['not-the-token', TOKENS.operator, TOKENS.read]) t.notOk(log.includes(secret), `the log never holds ${secret}`);
});

t.test('an empty configured token never matches', async (t) => {
  const { app } = await setup(t, sqlite(t), { tokens: { read: '', operator: TOKENS.operator } });
  for (const authorization of ['Bearer ', 'Bearer', 'Bearer ""']) {
    t.equal((await app.inject({ method: 'GET', url: '/routes', headers: { authorization } })).statusCode, 401, authorization);
  }
  t.equal((await app.inject({ method: 'GET', url: '/routes', headers: asOperator })).statusCode, 200);
});

t.test('the same token for read and operator is refused when the app is built', async (t) => {
  const { logger } = createCapturingLogger();
  const fake = createFakeController();
  t.throws(
    () =>
      buildAdminApp({
        controller: fake.controller,
        audit: { append: async () => {}, list: async () => [] },
        tokens: { read: 'same', operator: 'same' },
        logger,
        readiness: () => ({ ready: true, checks: {} }),
      }),
    { code: 'STRANGLER_ERR_ADMIN_TOKENS' },
  );
});

t.test('the read token reads routes and the audit log but cannot change a route', async (t) => {
  const { app, audit, fake } = await setup(t, sqlite(t));
  const routes = await app.inject({ method: 'GET', url: '/routes', headers: asReader });
  t.equal(routes.statusCode, 200);
  t.match(routes.json(), { routes: [{ name: 'rooms-get', share: 0, enabled: true }, { name: 'rooms-list' }] });
  const entries = await app.inject({ method: 'GET', url: '/audit', headers: asReader });
  t.equal(entries.statusCode, 200);
  t.same(entries.json(), { entries: [] });

  for (const [url, payload] of [
    ['/routes/rooms-get/shift', { percent: 50, reason: 'try it' }],
    ['/routes/rooms-get/rollback', { reason: 'try it' }],
    ['/routes/rooms-get/promote', { reason: 'try it' }],
  ] as const) {
    const res = await app.inject({ method: 'POST', url, headers: asReader, payload });
    t.equal(res.statusCode, 403, url);
    t.same(res.json(), { error: { code: 'STRANGLER_ERR_ADMIN_FORBIDDEN', message: 'this token can only read; use the operator token' } });
  }
  t.same(fake.calls, [], 'the controller was never called');
  t.equal(fake.state.get('rooms-get')!.share, 0);
  t.same(await audit.list({ limit: 10 }), [], 'nothing audited');
});

t.test('bad bodies are refused with 400 naming the field, and change nothing', async (t) => {
  const { app, audit, fake } = await setup(t, sqlite(t));
  const cases: Array<[string, unknown, RegExp]> = [
    ['/routes/rooms-get/shift', { percent: 150, reason: 'more' }, /^invalid body: percent must be a whole number from 0 to 100$/],
    ['/routes/rooms-get/shift', { percent: 12.5, reason: 'more' }, /percent must be a whole number from 0 to 100/],
    ['/routes/rooms-get/shift', { percent: null, reason: 'more' }, /percent must be a whole number/],
    ['/routes/rooms-get/shift', { percent: '50', reason: 'more' }, /percent must be a whole number/],
    ['/routes/rooms-get/shift', { percent: 50 }, /^invalid body: reason is missing: send a non-empty text of at most 500 characters saying why$/],
    ['/routes/rooms-get/shift', { reason: 'x' }, /percent is missing/],
    ['/routes/rooms-get/shift', {}, /percent is missing.*; reason is missing/],
    ['/routes/rooms-get/shift', { percent: 50, reason: '   ' }, /reason must be a non-empty text/],
    ['/routes/rooms-get/shift', { percent: 50, reason: 'x'.repeat(501) }, /reason must be a non-empty text of at most 500 characters/],
    ['/routes/rooms-get/shift', { percent: 50, reason: 'ok', force: true }, /force is not expected; send only percent and reason/],
    ['/routes/rooms-get/rollback', {}, /reason is missing/],
    ['/routes/rooms-get/promote', { reason: '' }, /reason must be a non-empty text/],
  ];
  for (const [url, payload, message] of cases) {
    const res = await app.inject({ method: 'POST', url, headers: asOperator, payload: payload as object });
    t.equal(res.statusCode, 400, `${url} ${JSON.stringify(payload)}`);
    t.equal(res.json().error.code, 'STRANGLER_ERR_ADMIN_BAD_REQUEST');
    t.match(res.json().error.message, message);
  }
  const noBody = await app.inject({ method: 'POST', url: '/routes/rooms-get/rollback', headers: asOperator });
  t.equal(noBody.statusCode, 400);
  t.match(noBody.json().error.message, /the body must be a JSON object with reason/);
  const notJson = await app.inject({ method: 'POST', url: '/routes/rooms-get/rollback', headers: { ...asOperator, 'content-type': 'application/json' }, payload: '{reason:' });
  t.equal(notJson.statusCode, 400);
  t.equal(notJson.json().error.code, 'STRANGLER_ERR_ADMIN_BAD_REQUEST');

  const badLimit = await app.inject({ method: 'GET', url: '/audit?limit=5000', headers: asReader });
  t.equal(badLimit.statusCode, 400);
  t.match(badLimit.json().error.message, /^invalid querystring: limit must be a whole number from 1 to 1000$/);

  t.same(fake.calls, [], 'the controller was never called');
  t.same(await audit.list({ limit: 10 }), []);
});

t.test('an unknown route is a 404 with its code; a controller crash is a 500 with the reqId, logged', async (t) => {
  const { app, fake, lines } = await setup(t, sqlite(t));
  const res = await app.inject({ method: 'POST', url: '/routes/room-get/shift', headers: asOperator, payload: { percent: 10, reason: 'typo' } });
  t.equal(res.statusCode, 404);
  t.same(res.json(), { error: { code: 'STRANGLER_ERR_UNKNOWN_ROUTE', message: 'no route named "room-get" in routes.yaml; routes are: rooms-get, rooms-list' } });

  const unknownPath = await app.inject({ method: 'GET', url: '/nope?x=1', headers: asReader });
  t.equal(unknownPath.statusCode, 404);
  t.match(unknownPath.json().error, { code: 'STRANGLER_ERR_ADMIN_NOT_FOUND', message: /no GET \/nope;/ });

  fake.controller.promote = async () => {
    throw new Error('flags file is on a read-only disk');
  };
  const crash = await app.inject({ method: 'POST', url: '/routes/rooms-get/promote', headers: asOperator, payload: { reason: 'go' } });
  t.equal(crash.statusCode, 500);
  t.match(crash.json().error, { code: 'STRANGLER_ERR_ADMIN_INTERNAL', message: /reqId / });
  t.notMatch(crash.json().error.message, /read-only/, 'internals stay in the log');
  t.match(lines.find((l) => l.msg === 'admin request failed'), { level: 50, err: { message: 'flags file is on a read-only disk' } });
});

t.test('health and readiness need no token; metrics need one', async (t) => {
  const { app, readiness, lines } = await setup(t, sqlite(t));
  const health = await app.inject({ method: 'GET', url: '/healthz' });
  t.equal(health.statusCode, 200);
  t.same(health.json(), { status: 'ok' });
  const ready = await app.inject({ method: 'GET', url: '/readyz' });
  t.equal(ready.statusCode, 200);
  t.same(ready.json(), { ready: true, checks: { flags: 'ok', store: 'ok' } });
  readiness.ready = false;
  readiness.checks.flags = 'down';
  const notReady = await app.inject({ method: 'GET', url: '/readyz' });
  t.equal(notReady.statusCode, 503);
  t.same(notReady.json(), { ready: false, checks: { flags: 'down', store: 'ok' } });
  t.notOk(lines.some((l) => l.url === '/healthz' || l.req?.url === '/healthz'), 'probes stay out of the log');

  t.equal((await app.inject({ method: 'GET', url: '/metrics' })).statusCode, 401);
  for (const headers of [asReader, asOperator]) {
    const metrics = await app.inject({ method: 'GET', url: '/metrics', headers });
    t.equal(metrics.statusCode, 200);
    t.equal(metrics.headers['content-type'], 'text/plain; version=0.0.4');
    t.equal(metrics.body, 'strangler_up 1\n');
  }
});

t.test('without renderMetrics, /metrics is a 404', async (t) => {
  const { app } = await setup(t, sqlite(t), { metrics: false });
  const res = await app.inject({ method: 'GET', url: '/metrics', headers: asReader });
  t.equal(res.statusCode, 404);
  t.equal(res.json().error.code, 'STRANGLER_ERR_ADMIN_NOT_FOUND');
});

async function behaviour(t: Test, database: (t: Test) => string) {
  t.test('the operator shifts, rolls back and promotes; each change is audited with reason, actor, from and to', async (t) => {
    const { app, audit, fake, lines } = await setup(t, database(t));
    const before = Date.now();
    const shift = await app.inject({ method: 'POST', url: '/routes/rooms-get/shift', headers: asOperator, payload: { percent: 25, reason: 'canary looks clean' } });
    t.equal(shift.statusCode, 200, shift.body);
    t.same(shift.json(), { change: { route: 'rooms-get', action: 'shift', from: { share: 0, enabled: true }, to: { share: 25, enabled: true } } });
    t.same(fake.calls[0], { action: 'shift', route: 'rooms-get', actor: { token: 'operator', address: '127.0.0.1' }, reason: 'canary looks clean' });
    t.equal(fake.state.get('rooms-get')!.share, 25);

    const rollback = await app.inject({ method: 'POST', url: '/routes/rooms-get/rollback', headers: asOperator, payload: { reason: 'p99 doubled' } });
    t.equal(rollback.statusCode, 200);
    t.match(rollback.json().change, { action: 'rollback', from: { share: 25 }, to: { share: 0 } });
    const promote = await app.inject({ method: 'POST', url: '/routes/rooms-list/promote', headers: asOperator, payload: { reason: 'parity 100 % for a week' } });
    t.equal(promote.statusCode, 200);

    const [entry] = await audit.list({ route: 'rooms-get', limit: 1 });
    t.same(entry.actor, { token: 'operator', address: '127.0.0.1' });
    t.same(entry.change, { route: 'rooms-get', action: 'rollback', from: { share: 25, enabled: true }, to: { share: 0, enabled: true } });
    t.equal(entry.reason, 'p99 doubled');
    t.ok(Date.parse(entry.at) >= before - 1 && Date.parse(entry.at) <= Date.now(), 'at is the time of the change');

    const all = await app.inject({ method: 'GET', url: '/audit', headers: asReader });
    t.same(
      all.json().entries.map((e: { change: { route: string; action: string }; reason: string }) => [e.change.route, e.change.action, e.reason]),
      [
        ['rooms-list', 'promote', 'parity 100 % for a week'],
        ['rooms-get', 'rollback', 'p99 doubled'],
        ['rooms-get', 'shift', 'canary looks clean'],
      ],
      'newest first',
    );
    const one = await app.inject({ method: 'GET', url: '/audit?route=rooms-get&limit=1', headers: asOperator });
    t.same(one.json().entries.map((e: { change: { action: string } }) => e.change.action), ['rollback']);
    t.same(await audit.list({ route: 'rooms-get', limit: 10, since: Date.now() + 1000 }), [], 'since filters out older entries');

    const changes = lines.filter((l) => l.msg === 'route changed');
    t.equal(changes.length, 3, 'one log line per change');
    t.match(changes[0], { level: 30, route: 'rooms-get', action: 'shift', from: { share: 0 }, to: { share: 25 }, reason: 'canary looks clean', tokenKind: 'operator' });
  });

  t.test('an audit log that cannot be written makes the change answer 500 saying it was applied', async (t) => {
    const { app, audit } = await setup(t, database(t));
    audit.append = async () => {
      throw new Error('disk full');
    };
    const res = await app.inject({ method: 'POST', url: '/routes/rooms-get/shift', headers: asOperator, payload: { percent: 5, reason: 'start' } });
    t.equal(res.statusCode, 500);
    t.match(res.json().error, { code: 'STRANGLER_ERR_AUDIT_WRITE', message: /route "rooms-get" WAS changed, but the audit log could not be written \(disk full\)/ });
  });

  t.test('audit entries keep an address-less actor and order changes made in the same millisecond', async (t) => {
    const { audit } = await setup(t, database(t));
    const at = '2026-11-25T14:00:00.123Z';
    const change = { route: 'rooms-get', action: 'shift' as const, from: { share: null, enabled: false }, to: { share: 10, enabled: true } };
    await audit.append({ at, actor: { token: 'rollout' }, change, reason: 'step 1' });
    await audit.append({ at, actor: { token: 'rollout' }, change: { ...change, to: { share: 20, enabled: true } }, reason: 'step 2' });
    const entries = await audit.list({ limit: 10 });
    t.same(entries[0], { at, actor: { token: 'rollout' }, change: { ...change, to: { share: 20, enabled: true } }, reason: 'step 2' });
    t.equal(entries[1].reason, 'step 1');
    t.same(await audit.list({ limit: 10, since: Date.parse(at) }), entries, 'since is inclusive');
  });
}

t.test('SQLite', async (t) => {
  await behaviour(t, sqlite);
});

t.test('MySQL/MariaDB', { skip: mysqlSkipReason }, async (t) => {
  const database = await createTestDatabase('admin_audit');
  t.teardown(() => database.drop());
  await behaviour(t, () => database.url);
});
