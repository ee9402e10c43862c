import path from 'node:path';
import t, { type Test } from 'tap';
import { startLegacy } from '../../legacy/start-legacy.ts';
import { startDiaries } from '../../services/diaries/server.ts';
import { runCli } from '../helpers/cli.ts';
import { eventually, request, type Reply } from '../helpers/http.ts';
import { ISO_UTC, phpSkipReason } from '../helpers/legacy.ts';
import { createTestDatabase, mysqlSkipReason } from '../helpers/mysql.ts';
import { startTestProxy } from '../helpers/proxy.ts';

/** The service made with `strangler extract`, at 100 %: the proxy sends every diary read to it. */

const QUERIES = ['?user=1', '?user=250', '?user=9999', '?user=x', '?user=0', '?user=1&user=2', ''];

/** Legacy's envelope noise aside (its clock, its request id), the JSON a client gets. */
function visible(reply: Reply) {
  const body = reply.json();
  if (body.data) {
    delete body.generated_at;
    delete body.request_id;
  }
  return { status: reply.status, contentType: reply.headers['content-type'], body };
}

async function startStack(t: Test, dir: string, databaseUrl: string, stage: 'cutover' | 'canary') {
  const legacy = await startLegacy({ databaseUrl, port: 0, workers: 2 });
  t.teardown(() => legacy.stop());
  const diaries = await startDiaries({ databaseUrl, port: 0, logger: false });
  t.teardown(() => diaries.stop());
  const proxy = await startTestProxy({
    dir,
    legacy: legacy.url,
    services: { diaries: diaries.url },
    routes: `  - name: diaries-list\n    match: GET /api/diaries\n    service: diaries\n    stage: ${stage}\n`,
  });
  t.teardown(() => proxy.close());
  return { legacy, proxy };
}

/** Every query through the proxy is answered by diaries with the JSON legacy gives, created_at formats included. */
async function assertServedByDiaries(t: Test, proxyUrl: string, legacyUrl: string, headers: Record<string, string> = {}) {
  for (const query of QUERIES) {
    const what = `${query || '(no query)'}${headers['x-user-id'] ? ` as user ${headers['x-user-id']}` : ''}`;
    const viaProxy = await request(`${proxyUrl}/api/diaries${query}`, { headers });
    const direct = await request(`${legacyUrl}/api/diaries${query}`);
    t.equal(viaProxy.headers['x-strangler-target'], 'diaries', `${what}: answered by the service`);
    t.same(visible(viaProxy), visible(direct), `${what}: the same status and JSON as legacy`);
  }
  const [entry] = (await request(`${proxyUrl}/api/diaries?user=1`, { headers })).json().data;
  t.match(entry, { id: Number, user_id: 1, title: String, body: String, mood: String, created_at: ISO_UTC }, 'created_at as legacy writes it: YYYY-MM-DDTHH:MM:SSZ');
}

async function cutover(t: Test, dir: string, databaseUrl: string) {
  const { legacy, proxy } = await startStack(t, dir, databaseUrl, 'cutover');
  await assertServedByDiaries(t, proxy.url, legacy.url);
}

/** Stage canary, the flag shifted to 100 % with the CLI, as an operator does. */
async function canaryAtFull(t: Test, dir: string, databaseUrl: string) {
  const { legacy, proxy } = await startStack(t, dir, databaseUrl, 'canary');
  t.equal((await request(`${proxy.url}/api/diaries?user=1`)).headers['x-strangler-target'], 'legacy', 'flag at 0 %: legacy answers');
  const shifted = await runCli(['shift', 'diaries-list', '100', '--config', proxy.configFile]);
  t.equal(shifted.code, 0, shifted.stderr);
  await eventually(async () => (await request(`${proxy.url}/api/diaries?user=1`)).headers['x-strangler-target'] === 'diaries', { timeoutMs: 10_000 });
  // at 100 % no user is left out, whatever bucket their id falls in
  for (const user of ['1', '42', 'anonymous-7']) await assertServedByDiaries(t, proxy.url, legacy.url, { 'x-user-id': user });
  await assertServedByDiaries(t, proxy.url, legacy.url);
}

t.test('diaries (made with strangler extract) answers GET /api/diaries through the proxy in cutover', { skip: phpSkipReason }, async (t) => {
  const dir = t.testdir();
  await cutover(t, dir, `sqlite:${path.join(dir, 'timing.sqlite')}`);
});

t.test('diaries in cutover, legacy and the service on MySQL/MariaDB', { skip: phpSkipReason || mysqlSkipReason }, async (t) => {
  const db = await createTestDatabase('diaries_cutover');
  t.teardown(() => db.drop());
  await cutover(t, t.testdir(), db.url);
});

t.test('diaries in canary with its flag shifted to 100 %: every request is served by diaries, as legacy would', { skip: phpSkipReason }, async (t) => {
  const dir = t.testdir();
  await canaryAtFull(t, dir, `sqlite:${path.join(dir, 'timing.sqlite')}`);
});

t.test('diaries in canary at 100 % on MySQL/MariaDB', { skip: phpSkipReason || mysqlSkipReason }, async (t) => {
  const db = await createTestDatabase('diaries_canary');
  t.teardown(() => db.drop());
  await canaryAtFull(t, t.testdir(), db.url);
});
