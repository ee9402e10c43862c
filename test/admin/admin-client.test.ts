import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import t, { type Test } from 'tap';
import { buildAdminApp } from '../../proxy/admin/admin-app.ts';
import { createAdminClient } from '../../proxy/admin/admin-client.ts';
import { createAuditLog } from '../../proxy/admin/audit-log.ts';
import { StranglerError } from '../../proxy/errors.ts';
import { migrateProxyStore } from '../../migrations/migrate.ts';
import { createDb } from '../../services/shared/database.ts';
import { createCapturingLogger, createFakeController, TOKENS } from '../helpers/admin.ts';

/** the real admin app on a real socket (port 0), with its audit log on SQLite */
async function listen(t: Test): Promise<{ url: string; fake: ReturnType<typeof createFakeController> }> {
  const db = createDb(`sqlite:${path.join(t.testdir(), 'proxy.sqlite')}`);
  t.teardown(() => db.destroy());
  await migrateProxyStore(db);
  const fake = createFakeController();
  const app = buildAdminApp({
    controller: fake.controller,
    audit: createAuditLog(db),
    tokens: TOKENS,
    logger: createCapturingLogger().logger,
    readiness: () => ({ ready: true, checks: {} }),
  });
  t.teardown(() => app.close());
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  return { url, fake };
}

t.test('the operator client lists, shifts, rolls back, promotes and reads the audit log', async (t) => {
  const { url, fake } = await listen(t);
  const client = createAdminClient(`${url}/`, TOKENS.operator);
  t.match(await client.routes(), [{ name: 'rooms-get', share: 0 }, { name: 'rooms-list', share: 0 }]);
  t.same(await client.shift('rooms-get', 30, 'first canary'), { route: 'rooms-get', action: 'shift', from: { share: 0, enabled: true }, to: { share: 30, enabled: true } });
  t.match(await client.rollback('rooms-get', 'errors up'), { action: 'rollback', to: { share: 0 } });
  t.match(await client.promote('rooms-list', 'parity is 100 %'), { action: 'promote', to: { share: 100 } });
  t.equal(fake.state.get('rooms-list')!.share, 100);

  const entries = await client.audit();
  t.same(entries.map((e) => e.reason), ['parity is 100 %', 'errors up', 'first canary']);
  t.same(entries[0].actor, { token: 'operator', address: '127.0.0.1' });
  t.same((await client.audit({ route: 'rooms-get', limit: 1 })).map((e) => e.reason), ['errors up']);
});

t.test("a refusal comes back as the server's StranglerError", async (t) => {
  const { url, fake } = await listen(t);
  const reader = createAdminClient(url, TOKENS.read);
  t.equal((await reader.routes()).length, 2, 'the read token reads');
  await t.rejects(reader.shift('rooms-get', 50, 'try'), { name: 'StranglerError', code: 'STRANGLER_ERR_ADMIN_FORBIDDEN', statusCode: 403, message: 'this token can only read; use the operator token' });

  const operator = createAdminClient(url, TOKENS.operator);
  await t.rejects(operator.shift('room-get', 10, 'typo'), { code: 'STRANGLER_ERR_UNKNOWN_ROUTE', statusCode: 404, message: /no route named "room-get"/ });
  await t.rejects(operator.shift('rooms-get', 101, 'too much'), { code: 'STRANGLER_ERR_ADMIN_BAD_REQUEST', statusCode: 400, message: /percent must be a whole number from 0 to 100/ });
  await t.rejects(operator.rollback('rooms-get', ''), { code: 'STRANGLER_ERR_ADMIN_BAD_REQUEST', message: /reason must be a non-empty text/ });
  await t.rejects(operator.audit({ limit: 0 }), { code: 'STRANGLER_ERR_ADMIN_BAD_REQUEST', message: /limit must be a whole number from 1 to 1000/ });
  await t.rejects(createAdminClient(url, 'guess').routes(), { code: 'STRANGLER_ERR_ADMIN_UNAUTHORIZED', statusCode: 401 });
  t.same(fake.calls, [], 'nothing changed');
});

t.test('a proxy that is not running is STRANGLER_ERR_ADMIN_UNREACHABLE', async (t) => {
  // a port that was free a moment ago: nothing listens there now
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  const url = `http://127.0.0.1:${port}`;
  const err = await createAdminClient(url, TOKENS.read)
    .routes()
    .then(
      () => null,
      (e: unknown) => e,
    );
  t.type(err, StranglerError);
  t.match(err, {
    code: 'STRANGLER_ERR_ADMIN_UNREACHABLE',
    message: `the proxy's admin API at ${url} is not reachable (ECONNREFUSED): is the proxy running with admin: configured?`,
  });
});

t.test('something else at the address (not the admin API) is STRANGLER_ERR_ADMIN_BAD_RESPONSE', async (t) => {
  const server = createServer((_req, res) => {
    res.writeHead(404, { 'content-type': 'text/html' }).end('<h1>Not found</h1>');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise((resolve) => server.close(resolve)));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  await t.rejects(createAdminClient(url, TOKENS.read).routes(), {
    code: 'STRANGLER_ERR_ADMIN_BAD_RESPONSE',
    message: `${url}/routes answered 404 but not as strangler's admin API does (text/html, not JSON): is it the proxy's admin address?`,
  });
});
