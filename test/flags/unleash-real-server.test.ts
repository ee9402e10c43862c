import t from 'tap';
import { StranglerError } from '../../proxy/errors.ts';
import { createUnleashAdmin } from '../../proxy/flags/unleash-admin.ts';
import { closedPort, eventually, request, startUpstream } from '../helpers/http.ts';
import { startTestProxy } from '../helpers/proxy.ts';
import { startUnleashServer, unleashSkipReason } from '../helpers/unleash-server.ts';
import { runCli } from '../helpers/cli.ts';
import { startAdmin } from '../../proxy/admin/start-admin.ts';
import pino from 'pino';
import path from 'node:path';
import { runProxyWithAdmin } from '../helpers/admin-proxy.ts';

// One real unleash-server (over a fresh PostgreSQL database) for the whole file; each test uses
// flags of its own. The last test stops the server.
t.test('against a real Unleash server', { skip: unleashSkipReason }, async (t) => {
  const server = await startUnleashServer(t);
  const admin = createUnleashAdmin({ url: server.url, token: server.adminToken });

  const clientFeature = async (flag: string) => {
    const res = await fetch(`${server.apiUrl}/client/features`, { headers: { authorization: server.clientToken } });
    const body = (await res.json()) as { features: Array<{ name: string; enabled: boolean; strategies: Array<{ name: string; parameters: Record<string, string> }> }> };
    return body.features.find((f) => f.name === flag);
  };

  t.test('unleash-admin: setRollout, setEnabled and describe round-trip, and clients see the same', async (t) => {
    await admin.ensureFlag('rooms-admin');
    await admin.ensureFlag('rooms-admin'); // twice is fine
    t.same(await admin.describe('rooms-admin'), { enabled: false, percent: undefined }, 'a new flag is off with no share');

    await admin.setRollout('rooms-admin', 30);
    t.same(await admin.describe('rooms-admin'), { enabled: true, percent: 30 });
    await admin.setRollout('rooms-admin', 60);
    t.same(await admin.describe('rooms-admin'), { enabled: true, percent: 60 }, 'the rollout is updated, not added to');
    await admin.setEnabled('rooms-admin', false);
    t.same(await admin.describe('rooms-admin'), { enabled: false, percent: 60 }, 'the kill switch keeps the share');
    await admin.setEnabled('rooms-admin', true);
    t.same(await admin.describe('rooms-admin'), { enabled: true, percent: 60 });

    // a flag that does not exist yet is created by setRollout
    await admin.setRollout('rooms-new', 0);
    t.same(await admin.describe('rooms-new'), { enabled: true, percent: 0 });

    // what unleash-client will evaluate (the server publishes changes within about a second)
    const feature = await eventually(async () => {
      const f = await clientFeature('rooms-admin');
      return f?.enabled && f.strategies.some((s) => s.parameters.rollout === '60') ? f : undefined;
    }, { timeoutMs: 10_000 });
    t.equal(feature.strategies.length, 1, 'one strategy after two setRollout calls');
    t.equal(feature.strategies[0].name, 'flexibleRollout');
    t.same(feature.strategies[0].parameters, { rollout: '60', stickiness: 'default', groupId: 'rooms-admin' }, 'the same share a local flags file gives');
  });

  t.test('unleash-admin: refusals say what to check', async (t) => {
    const missing = await admin.describe('no-such-flag').catch((err: unknown) => err);
    t.type(missing, StranglerError);
    t.match(missing, { code: 'STRANGLER_ERR_UNLEASH_ADMIN', message: /404 .*no feature named "no-such-flag".*check that the flag, the project and the environment exist/ });

    const clientToken = createUnleashAdmin({ url: server.url, token: server.clientToken });
    await t.rejects(clientToken.ensureFlag('rooms-x'), { code: 'STRANGLER_ERR_UNLEASH_ADMIN', message: /401|403/ }, 'a client token cannot change flags');

    await t.rejects(admin.setRollout('rooms-admin', 101), { code: 'STRANGLER_ERR_BAD_PERCENT' });

    const nowhere = createUnleashAdmin({ url: `http://127.0.0.1:${await closedPort()}`, token: server.adminToken });
    await t.rejects(nowhere.describe('rooms-admin'), { code: 'STRANGLER_ERR_UNLEASH_UNREACHABLE', message: /ECONNREFUSED/ });
  });

  t.test('a rollout plan walks its steps by changing the flag on the Unleash server', async (t) => {
    await admin.setRollout('rooms-roll', 0);
    const legacy = await startUpstream('legacy');
    const rooms = await startUpstream('rooms');
    const proxy = await startTestProxy({
      dir: t.testdir(),
      legacy: legacy.url,
      services: { rooms: rooms.url },
      routes: '  - name: rooms-roll\n    match: GET /api/rooms/:id\n    service: rooms\n    rollout: { steps: [50, 100], interval: 500ms, minRequests: 5 }\n',
      flags: `flags:\n  unleash:\n    url: ${server.apiUrl}\n    token: ${server.clientToken}\n    adminToken: \"${server.adminToken}\"\n    refreshInterval: 300ms\n    backupDir: backup`,
      extra: 'comparisons:\n  database: sqlite:strangler.sqlite\nadmin:\n  listen: 127.0.0.1:0\n  operatorToken: op-token-0123456789abcdef',
    });
    const adminApi = await startAdmin(proxy.proxy, proxy.proxy.state.config, pino({ level: 'silent' }));
    let stop = false;
    const load = (async () => {
      for (let i = 0; !stop; i++) await request(`${proxy.url}/api/rooms/1`, { headers: { 'x-user-id': `u${i}` } }).catch(() => null);
    })();
    t.teardown(async () => {
      stop = true;
      await load;
      await adminApi.stop();
      await proxy.close();
      await legacy.close();
      await rooms.close();
    });
    const promoted = await fetch(`${adminApi.url}/routes/rooms-roll/promote`, {
      method: 'POST',
      headers: { authorization: 'Bearer op-token-0123456789abcdef', 'content-type': 'application/json' },
      body: JSON.stringify({ reason: 'rollout on Unleash' }),
    });
    t.equal(promoted.status, 200);
    t.same(await admin.describe('rooms-roll'), { enabled: true, percent: 50 }, 'the first step is set on the server');
    const done = await eventually(async () => {
      const state = await adminApi.rollouts.state('rooms-roll');
      return state?.status === 'done' ? state : undefined;
    }, { timeoutMs: 30_000, intervalMs: 200 });
    t.match(done, { step: 1 });
    t.same(await admin.describe('rooms-roll'), { enabled: true, percent: 100 }, 'the last step is set on the server');
    await eventually(async () => (await request(`${proxy.url}/api/rooms/1`, { headers: { 'x-user-id': 'anyone' } })).headers['x-strangler-target'] === 'rooms', { timeoutMs: 10_000 });
    t.pass('and the proxy follows it');
  });

  t.test('strangler shift with a running proxy goes through its admin API: Unleash changes, the audit log has the reason', async (t) => {
    await admin.setRollout('rooms-audited', 0);
    const legacy = await startUpstream('legacy');
    const rooms = await startUpstream('rooms');
    const dir = t.testdir();
    const configFile = path.join(dir, 'routes.yaml');
    const running = await runProxyWithAdmin(
      configFile,
      (adminPort) => `listen: 127.0.0.1:0
legacy: ${legacy.url}
services:
  rooms: ${rooms.url}
flags:
  unleash:
    url: ${server.apiUrl}
    token: ${server.clientToken}
    adminToken: "${server.adminToken}"
    refreshInterval: 300ms
    backupDir: backup
comparisons:
  database: sqlite:strangler.sqlite
admin:
  listen: 127.0.0.1:${adminPort}
  operatorToken: op-token-0123456789abcdef
routes:
  - name: rooms-audited
    match: GET /api/rooms/:id
    service: rooms
`,
    );
    t.teardown(async () => {
      await running.stop();
      await legacy.close();
      await rooms.close();
    });
    const cli = (...args: string[]) => runCli([...args, '--config', configFile]);

    const shifted = await cli('shift', 'rooms-audited', '40', '--reason', 'canary on Unleash');
    t.equal(shifted.code, 0, shifted.stderr);
    t.match(shifted.stdout, /rooms-audited: 0 % → 40 % .*through the proxy's admin API, in the audit log/);
    t.notMatch(shifted.stderr, /without an audit entry/, 'the CLI did not fall back to Unleash directly');
    t.same(await admin.describe('rooms-audited'), { enabled: true, percent: 40 }, 'the flag changed on the Unleash server');

    const audit = await cli('audit', '--json');
    t.equal(audit.code, 0, audit.stderr);
    const entries = JSON.parse(audit.stdout);
    t.match(entries[0], {
      actor: { token: 'operator' },
      change: { route: 'rooms-audited', action: 'shift', from: { share: 0 }, to: { share: 40, enabled: true } },
      reason: 'canary on Unleash',
    });
    const status = await cli('status');
    t.match(status.stdout, /rooms-audited\s+canary\s+40 %/, 'status reads the share back from Unleash');
  });

  t.test('the proxy follows a rollout changed on the server, and keeps the last known flags when it goes away', async (t) => {
    await admin.setRollout('rooms-get', 0);
    const legacy = await startUpstream('legacy');
    const rooms = await startUpstream('rooms');
    const proxy = await startTestProxy({
      dir: t.testdir(),
      legacy: legacy.url,
      services: { rooms: rooms.url },
      routes: '  - name: rooms-get\n    match: GET /api/rooms/:id\n    flag: rooms-get\n    service: rooms\n',
      flags: `flags:\n  unleash:\n    url: ${server.apiUrl}\n    token: ${server.clientToken}\n    adminToken: \"${server.adminToken}\"\n    refreshInterval: 500ms\n    backupDir: backup`,
      extra: 'admin:\n  listen: 127.0.0.1:0\n  readToken: read-token-0123456789abcdef',
    });
    const adminApi = await startAdmin(proxy.proxy, proxy.proxy.state.config, pino({ level: 'silent' }));
    t.teardown(() => adminApi.stop());
    t.teardown(async () => {
      await proxy.close();
      await legacy.close();
      await rooms.close();
    });
    const target = async (user: string) => (await request(`${proxy.url}/api/rooms/1`, { headers: { 'x-user-id': user } })).headers['x-strangler-target'];

    t.equal(await target('u1'), 'legacy', 'at 0 % the service gets nothing');

    const shifted = Date.now();
    const cli = await runCli(['shift', 'rooms-get', '100', '--config', proxy.configFile]);
    t.equal(cli.code, 0, cli.stderr);
    t.match(cli.stdout, /rooms-get: 0 % → 100 % .* on the Unleash server/, 'strangler shift changes the flag on the Unleash server');
    t.match(cli.stderr, /admin API is not reachable .*changing the flag directly, without an audit entry/, 'with no admin API to reach, it says the change is not audited');
    t.same(await admin.describe('rooms-get'), { enabled: true, percent: 100 });
    await eventually(async () => (await target('u1')) === 'rooms', { timeoutMs: 10_000 });
    t.comment(`the proxy followed the shift after ${Date.now() - shifted} ms (refresh 500 ms, Unleash publishes about every second)`);
    for (const user of ['u2', 'u3', 'u4']) t.equal(await target(user), 'rooms', `at 100 % ${user} goes to the service`);

    await server.stop();
    const warning = await eventually(() => proxy.logs.find((l) => l.msg === 'unleash server unreachable, serving last known flags'), { timeoutMs: 10_000 });
    t.equal(warning.level, 40, 'the outage is a warning');
    for (const user of ['u1', 'u2', 'u3']) t.equal(await target(user), 'rooms', `server down: ${user} still routed by the last known flags`);
    const ready = await fetch(`${adminApi.url}/readyz`);
    t.equal(ready.status, 200, 'still ready: the last known flags route');
    t.match(await ready.json(), { checks: { controlPlane: 'degraded' } }, '/readyz reports the control plane as degraded');
    const metrics = await (await fetch(`${adminApi.url}/metrics`, { headers: { authorization: 'Bearer read-token-0123456789abcdef' } })).text();
    t.match(metrics, /strangler_control_plane_degraded 1/, 'and so do the metrics');
  });
});
