import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import t from 'tap';
import { MIGRATIONS_TABLE } from '../../migrations/migrate.ts';
import { createDb } from '../../services/shared/database.ts';
import { runProxyWithAdmin } from '../helpers/admin-proxy.ts';
import { runCli } from '../helpers/cli.ts';
import { eventually, request, startUpstream } from '../helpers/http.ts';
import { demoRoutesWithLegacy, extract, makeRepo, runTsFile } from './demo-repo.ts';

/** What `strangler extract` leaves in a fresh copy of the demo, run the way a person runs it. */

t.test('the extracted route appears in strangler status: stage shadow, flag at 0 %', async (t) => {
  const legacy = await startUpstream('legacy');
  t.teardown(() => legacy.close());
  const root = makeRepo(t, demoRoutesWithLegacy(legacy.url));
  await extract({ root, match: 'GET /api/diaries', service: 'diaries', paths: ['/api/diaries?user=1'] });
  const configFile = path.join(root, 'routes.yaml');
  const extracted = readFileSync(configFile, 'utf8');
  // the demo's fixed ports may be taken on this machine: the proxy on 0, the admin API on a free one
  const running = await runProxyWithAdmin(configFile, (adminPort) =>
    extracted.replace(/^listen: \S+/m, 'listen: 127.0.0.1:0').replace(/^(admin:[^\n]*\n(?:[ \t]+#[^\n]*\n)*[ \t]+listen: )\S+/m, `$1127.0.0.1:${adminPort}`),
  );
  t.teardown(() => running.stop());
  t.match(readFileSync(configFile, 'utf8'), /\n {2}- name: diaries-list\n {4}match: GET \/api\/diaries\n {4}service: diaries\n {4}stage: shadow\n/, 'the proxy runs the route as extract wrote it');

  const status = await runCli(['status', '--config', configFile], { cwd: root });
  t.equal(status.code, 0, status.stderr);
  t.match(status.stdout, /^route\s+stage\s+share\s+flag/m);
  t.match(status.stdout, /^diaries-list\s+shadow\s+0 %\s+on\b/m, 'the new route, in shadow, its flag at 0 %');
  t.match(status.stdout, /^rooms-list\s+shadow\b/m, 'the demo\'s routes are still there');

  const res = await request(`${running.url}/api/diaries?user=1`);
  t.equal(res.status, 200);
  t.equal(res.headers['x-strangler-target'], 'legacy', 'in shadow, legacy keeps answering');
});

t.test('the generated server.ts runs as a process: /healthz 200, the route 501, SIGTERM exits 0', async (t) => {
  const root = makeRepo(t);
  await extract({ root, match: 'GET /api/diaries', service: 'diaries' });
  const child = spawn(process.execPath, ['--import', 'tsx', 'services/diaries/server.ts'], {
    cwd: root,
    env: { ...process.env, PORT: '0', DATABASE_URL: `sqlite:${path.join(root, 'timing.sqlite')}`, LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });

  const listening = await eventually(
    () => stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { msg: string; url?: string }).find((l) => l.msg === 'diaries service listening'),
    { timeoutMs: 30_000, intervalMs: 50 },
  ).catch((err: Error) => {
    throw new Error(`${err.message}\nstdout: ${stdout}\nstderr: ${stderr}`);
  });
  const url = listening.url!;
  const healthz = await request(`${url}/healthz`);
  t.equal(healthz.status, 200);
  t.same(healthz.json(), { status: 'ok' });
  const route = await request(`${url}/api/diaries?user=1`);
  t.equal(route.status, 501);
  t.same(route.json(), { error: 'not implemented: GET /api/diaries (strangler extract)' });

  // the proxy's request id: the generated service answers and logs under it
  const traced = await request(`${url}/healthz`, { headers: { 'x-request-id': 'from-proxy-123' } });
  t.equal(traced.headers['x-request-id'], 'from-proxy-123');
  const lines = () => stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { reqId?: string; msg: string });
  const tracedLines = await eventually(() => {
    const found = lines().filter((l) => l.reqId === 'from-proxy-123');
    return found.some((l) => l.msg === 'request completed') ? found : undefined;
  }, { timeoutMs: 10_000, intervalMs: 50 });
  t.ok(tracedLines.length >= 2, 'its log lines carry reqId from-proxy-123');

  child.kill('SIGTERM');
  t.same(await exited, { code: 0, signal: null }, `exits 0 after SIGTERM: ${stderr}`);
  t.match(stdout, /"msg":"shutting down"[\s\S]*"msg":"stopped"/, 'and logs the graceful shutdown');
  await t.rejects(request(`${url}/healthz`), 'nothing listens any more');
});

t.test('the generated server.ts without DATABASE_URL: exits 1 saying what to set instead of opening a default database', async (t) => {
  const root = makeRepo(t);
  await extract({ root, match: 'GET /api/diaries', service: 'diaries' });
  const run = await runTsFile('services/diaries/server.ts', { cwd: root, env: { PORT: '0', DATABASE_URL: '' } });
  t.equal(run.code, 1);
  t.match(run.stdout, /DATABASE_URL is not set: point it at the database legacy reads/);
});

t.test('the migration stub exports up and down, and knex migrates and rolls back with it on SQLite', async (t) => {
  const root = makeRepo(t);
  await extract({ root, match: 'GET /api/users/:id/checkins', service: 'checkins', migration: true });
  const directory = path.join(root, 'migrations', 'checkins');
  const files = readdirSync(directory);
  t.match(files, [/^\d{14}_users-checkins\.ts$/], 'one stub, named as knex orders them');
  const stub = (await import(pathToFileURL(path.join(directory, files[0])).href)) as Record<string, unknown>;
  t.equal(typeof stub.up, 'function', 'exports up');
  t.equal(typeof stub.down, 'function', 'exports down');

  const db = createDb(`sqlite:${path.join(root, 'timing.sqlite')}`);
  t.teardown(() => db.destroy());
  const options = { directory, loadExtensions: ['.ts'], tableName: MIGRATIONS_TABLE };
  const [batch, applied] = (await db.migrate.latest(options)) as [number, string[]];
  t.equal(batch, 1);
  t.same(applied, files, 'migrate.latest applies the stub');
  t.same(await db(MIGRATIONS_TABLE).pluck('name'), files, 'and records it');
  t.same(((await db.migrate.latest(options)) as [number, string[]])[1], [], 'a second latest has nothing to do');
  t.same(((await db.migrate.rollback(options)) as [number, string[]])[1], files, 'down() rolls it back');
});
