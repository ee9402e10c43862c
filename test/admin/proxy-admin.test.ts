import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import t from 'tap';
import { writeFlagsFile } from '../../proxy/flags/flags-file.ts';
import { runProxyWithAdmin } from '../helpers/admin-proxy.ts';
import { runCli } from '../helpers/cli.ts';
import { eventually, request, startUpstream } from '../helpers/http.ts';

const OPERATOR = 'op-token-0123456789abcdef';
const READER = 'read-token-0123456789abcdef';

t.test('ops through the running proxy: status, shift, rollback and audit from the CLI; tokens enforced; metrics', async (t) => {
  const dir = t.testdir();
  const legacy = await startUpstream('legacy');
  const rooms = await startUpstream('rooms');
  t.teardown(async () => {
    await legacy.close();
    await rooms.close();
  });
  const configFile = path.join(dir, 'routes.yaml');
  await writeFlagsFile(path.join(dir, 'flags.json'), { version: 2, features: [] });
  const env = { OPS_TOKEN: OPERATOR, READ_TOKEN: READER };
  Object.assign(process.env, env);
  const running = await runProxyWithAdmin(
    configFile,
    (adminPort) => `listen: 127.0.0.1:0
legacy: ${legacy.url}
services:
  rooms: ${rooms.url}
flags:
  file: flags.json
comparisons:
  database: sqlite:strangler.sqlite
admin:
  listen: 127.0.0.1:${adminPort}
  operatorToken: \${OPS_TOKEN}
  readToken: \${READ_TOKEN}
routes:
  - name: rooms-get
    match: GET /api/rooms/:id
    service: rooms
`,
  );
  t.teardown(() => running.stop());
  const admin = running.adminUrl!;
  const cli = (...args: string[]) => runCli([...args, '--config', configFile], { env });

  for (let i = 0; i < 5; i++) await request(`${running.url}/api/rooms/${i}`);
  const status = await cli('status');
  t.equal(status.code, 0, status.stderr);
  t.match(status.stdout, /rooms-get\s+canary\s+0 %\s+(on|off)\s+legacy [\d.]+/);

  t.equal((await fetch(`${admin}/routes`)).status, 401, 'no token: 401');
  t.equal((await fetch(`${admin}/healthz`)).status, 200, 'health needs no token');
  const denied = await cli('shift', 'rooms-get', '50', '--token', READER);
  t.equal(denied.code, 1, 'the read token cannot shift');
  t.match(denied.stderr, /STRANGLER_ERR_ADMIN_FORBIDDEN/);

  const shifted = await cli('shift', 'rooms-get', '100', '--reason', 'rooms service ready, load test passed');
  t.equal(shifted.code, 0, shifted.stderr);
  t.match(shifted.stdout, /rooms-get: 0 % → 100 % .*admin API, in the audit log/);
  await eventually(async () => (await request(`${running.url}/api/rooms/1`)).headers['x-strangler-target'] === 'rooms');
  t.pass('the proxy follows the shift');

  const rolled = await cli('rollback', 'rooms-get', '--reason', 'p99 too high');
  t.equal(rolled.code, 0, rolled.stderr);
  await eventually(async () => (await request(`${running.url}/api/rooms/1`)).headers['x-strangler-target'] === 'legacy');

  const audit = await cli('audit', '--json');
  t.equal(audit.code, 0, audit.stderr);
  const entries = JSON.parse(audit.stdout);
  t.match(entries, [
    { change: { route: 'rooms-get', action: 'rollback', from: { share: 100 }, to: { share: 0 } }, reason: 'p99 too high', actor: { token: 'operator' } },
    { change: { route: 'rooms-get', action: 'shift', from: { share: 0 }, to: { share: 100 } }, reason: 'rooms service ready, load test passed' },
  ]);
  t.equal(entries.length, 2, 'the refused shift changed nothing and is not in the log');

  const metrics = await fetch(`${admin}/metrics`, { headers: { authorization: `Bearer ${READER}` } });
  const text = await metrics.text();
  t.match(text, /strangler_requests_total\{route="rooms-get",target="legacy"\} \d+/);
  t.match(text, /strangler_requests_total\{route="rooms-get",target="rooms"\} \d+/);
  t.notMatch(text, /\/api\/rooms\/1/, 'no raw paths in labels');
});

t.test('status without admin: in routes.yaml says how to add it', async (t) => {
  const dir = t.testdir();
  const file = path.join(dir, 'routes.yaml');
  await writeFile(file, 'legacy: http://127.0.0.1:1\nroutes: []\n');
  const res = await runCli(['status', '--config', file]);
  t.equal(res.code, 1);
  t.match(res.stderr, /has no admin: section, so there is no admin API to ask; add admin: \{ listen: 127.0.0.1:9090/);
});
