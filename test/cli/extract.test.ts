import { execFile } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { FastifyInstance } from 'fastify';
import type { Knex } from 'knex';
import t, { type Test } from 'tap';
import { extractCommand } from '../../proxy/cli/extract.ts';
import { validateConfig } from '../../proxy/config/validate-config.ts';
import { applyPlan } from '../../proxy/extract/apply-plan.ts';
import { buildRouteMatcher, recordFromLegacy } from '../../proxy/extract/collect-samples.ts';
import { addToRoutesYaml } from '../../proxy/extract/edit-routes-yaml.ts';
import { formatPlan } from '../../proxy/extract/format-plan.ts';
import { deriveRouteName } from '../../proxy/extract/names.ts';
import { planExtraction, type ExtractOptions } from '../../proxy/extract/plan-extraction.ts';
import { describeShare, readFlagsFile } from '../../proxy/flags/flags-file.ts';
import { createRedactor } from '../../proxy/parity/redact.ts';
import type { RecordedExchange } from '../../proxy/parity/records.ts';
import { buildApp as buildRoomsApp } from '../../services/rooms/app.ts';
import { createDb } from '../../services/shared/database.ts';
import { reportContract, runContract } from '../helpers/contract.ts';
import { startUpstream } from '../helpers/http.ts';
import { phpSkipReason, startTestLegacy } from '../helpers/legacy.ts';
import { demoRoutesWithLegacy, DEMO_ROUTES, extract, makeRepo, REPO, runTsFile } from '../extract/demo-repo.ts';

const NOT_IMPLEMENTED = 'not implemented: GET /api/diaries (strangler extract)';

/** Every regular file under dir (links not followed) with its content: a tree to compare. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const file = path.join(d, entry.name);
      if (entry.isDirectory()) walk(file);
      else if (entry.isFile()) out[path.relative(dir, file)] = readFileSync(file, 'utf8');
    }
  };
  walk(dir);
  return out;
}

type BuildApp = (options: { db: Knex }) => FastifyInstance;

async function buildGeneratedApp(t: Test, root: string, service: string): Promise<FastifyInstance> {
  const { buildApp } = (await import(pathToFileURL(path.join(root, 'services', service, 'app.ts')).href)) as { buildApp: BuildApp };
  const db = createDb(`sqlite:${path.join(root, 'service.sqlite')}`);
  const app = buildApp({ db });
  t.teardown(async () => {
    await app.close();
    await db.destroy();
  });
  return app;
}

function exchange(method: string, url: string, status = 200, body = '{"data":[]}'): RecordedExchange {
  return {
    at: '2026-11-25T10:00:00.000Z',
    request: { method, url, headers: {} },
    response: { status, headers: { 'content-type': 'application/json; charset=utf-8' }, body, bodyEncoding: 'utf8', truncated: false },
  };
}

t.test('the demo fixture is the demo before diaries: rooms kept, diaries gone', async (t) => {
  const { config, problems } = validateConfig(DEMO_ROUTES, 'routes.yaml');
  t.same(problems, [], 'validates');
  t.same(Object.keys(config?.services ?? {}), ['rooms']);
  t.same(config?.routes.map((r) => r.name), ['rooms-list', 'rooms-get']);
  t.match(DEMO_ROUTES, /^# strangler routes:/, 'comments kept');
});

t.test('route names are derived from method and path', async (t) => {
  t.equal(deriveRouteName('GET', '/api/diaries'), 'diaries-list');
  t.equal(deriveRouteName('GET', '/api/users/:id/checkins'), 'users-checkins');
  t.equal(deriveRouteName('GET', '/api/rooms/:id'), 'rooms-get');
  t.equal(deriveRouteName('POST', '/api/diaries'), 'diaries-create');
  t.equal(deriveRouteName('POST', '/api/rooms/:id/join'), 'rooms-join');
  t.equal(deriveRouteName('DELETE', '/api/rooms/:id'), 'rooms-delete');
});

t.test('a new service: its files, routes.yaml with comments kept, the flag at 0 %, an app that answers', async (t) => {
  const root = makeRepo(t);
  const recording = path.join(root, 'traffic.jsonl');
  const lines = [
    exchange('GET', '/api/rooms'),
    exchange('GET', '/api/diaries?user=1'),
    exchange('POST', '/api/diaries', 201),
    exchange('GET', '/api/diaries?user=2'),
    exchange('GET', '/api/diaries?user=1'),
    exchange('GET', '/api/diaries/7'),
    exchange('GET', '/api/diaries?user=3'),
  ];
  await writeFile(recording, lines.map((l) => JSON.stringify(l)).join('\n'));
  const plan = await extract({ root, match: 'GET /api/diaries', service: 'diaries', samples: recording, maxSamples: 2 });

  t.equal(plan.route.name, 'diaries-list', 'route name derived from the match');
  t.equal(plan.service.url, 'http://127.0.0.1:3102', 'the next port after rooms (3101)');
  for (const file of ['app.ts', 'server.ts', 'routes/healthz.ts', 'routes/diaries-list.ts', 'README.md']) {
    t.ok(statSync(path.join(root, 'services/diaries', file)).isFile(), `services/diaries/${file} created`);
  }
  t.match(readFileSync(path.join(root, 'services/diaries/server.ts'), 'utf8'), /export const DEFAULT_PORT = 3102;[\s\S]*export async function startDiaries\(/);
  t.match(readFileSync(path.join(root, 'services/diaries/routes/diaries-list.ts'), 'utf8'), /To implement:/, 'the handler says what to implement');

  const routesYaml = readFileSync(path.join(root, 'routes.yaml'), 'utf8');
  const added = ['  diaries: http://127.0.0.1:3102', '  - name: diaries-list', '    match: GET /api/diaries', '    service: diaries', '    stage: shadow'];
  t.equal(routesYaml.split('\n').filter((line) => !added.includes(line)).join('\n'), DEMO_ROUTES, 'only lines were added: every comment and alignment kept');
  const { config, problems } = validateConfig(routesYaml, path.join(root, 'routes.yaml'));
  t.same(problems, [], 'routes.yaml validates');
  t.equal(config?.services.diaries.origin, 'http://127.0.0.1:3102');
  t.match(config?.routes.find((r) => r.name === 'diaries-list'), { methods: ['GET'], path: '/api/diaries', service: 'diaries', stage: 'shadow', flag: 'diaries-list' });
  t.same(describeShare(await readFlagsFile(path.join(root, 'var/flags.json')), 'diaries-list'), { enabled: true, percent: 0 }, 'flag at 0 %');

  const samples = readFileSync(path.join(root, 'test/services/diaries/diaries-list.samples.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as RecordedExchange);
  t.same(samples.map((s) => s.request.url), ['/api/diaries?user=1', '/api/diaries?user=2'], 'only GET /api/diaries requests, no duplicates, at most --max-samples');
  t.ok(statSync(path.join(root, 'test/services/diaries/diaries-list.contract.test.ts')).isFile(), 'contract test created');

  const app = await buildGeneratedApp(t, root, 'diaries');
  const healthz = await app.inject({ method: 'GET', url: '/healthz' });
  t.equal(healthz.statusCode, 200);
  t.same(healthz.json(), { status: 'ok' });
  const route = await app.inject({ method: 'GET', url: '/api/diaries?user=1' });
  t.equal(route.statusCode, 501);
  t.same(route.json(), { error: NOT_IMPLEMENTED });
  t.match(route.headers['x-request-id'], /^[0-9a-f]{16}$/);
});

t.test('samples from a HAR: only the route\'s requests, secrets redacted', async (t) => {
  const root = makeRepo(t);
  const entry = (url: string) => ({
    startedDateTime: '2026-11-25T10:00:00.000Z',
    request: { method: 'GET', url, headers: [{ name: 'Cookie', value: 'PHPSESSID=abc123' }] },
    response: { status: 200, headers: [{ name: 'Content-Type', value: 'application/json' }], content: { size: 30, text: '{"data":[],"token":"s3cret"}' } },
  });
  const har = path.join(root, 'session.har');
  await writeFile(har, JSON.stringify({ log: { entries: [entry('http://127.0.0.1:8000/api/rooms'), entry('http://127.0.0.1:8000/api/diaries?user=1')] } }));
  const plan = await extract({ root, match: 'GET /api/diaries', service: 'diaries', samples: har });
  const [sample, ...rest] = readFileSync(path.join(root, plan.samples.file), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as RecordedExchange);
  t.same(rest, [], 'one sample');
  t.equal(sample.request.url, '/api/diaries?user=1');
  t.equal(sample.request.headers.cookie, '[redacted]');
  t.same(JSON.parse(sample.response!.body), { data: [], token: '[redacted]' });
  await t.rejects(planExtraction({ root, match: 'GET /api/leaderboard', service: 'diaries', samples: har }), { code: 'STRANGLER_ERR_EXTRACT_NO_SAMPLES' });
});

t.test('running twice changes nothing, and says so', async (t) => {
  const root = makeRepo(t);
  const options = { root, match: 'GET /api/users/:id/checkins', service: 'checkins', migration: true };
  await extract(options);
  const before = snapshot(root);
  const again = await planExtraction({ ...options, now: new Date(Date.now() + 60_000) });
  t.same(again.writes, [], 'nothing planned');
  t.match(formatPlan(again, { dryRun: false }), /nothing to do/);
  await applyPlan(again);
  t.same(snapshot(root), before, 'no file changed');
  t.ok(Object.keys(before).some((f) => /^migrations\/checkins\/\d{14}_users-checkins\.ts$/.test(f)), 'one migration stub, not one per run');
});

t.test('--dry-run prints the plan and the routes.yaml diff, and writes nothing', async (t) => {
  const root = makeRepo(t);
  const before = snapshot(root);
  const logged = t.capture(console, 'log');
  const cwd = process.cwd();
  process.chdir(root);
  try {
    t.equal(await extractCommand.run(['GET /api/diaries', '--service', 'diaries', '--dry-run']), 0);
  } finally {
    process.chdir(cwd);
  }
  t.same(snapshot(root), before, 'nothing written');
  const out = logged().map((c) => c.args.join(' ')).join('\n');
  t.match(out, /dry run: nothing written/);
  t.match(out, /would create\s+services\/diaries\/app\.ts/);
  t.match(out, /would create\s+test\/services\/diaries\/diaries-list\.contract\.test\.ts/);
  t.match(out, /would update\s+routes\.yaml/);
  t.match(out, /--- a\/routes\.yaml\n\+\+\+ b\/routes\.yaml/);
  t.match(out, /\n\+  diaries: http:\/\/127\.0\.0\.1:3102\n/);
  t.match(out, /\n\+  - name: diaries-list\n\+    match: GET \/api\/diaries\n/);
});

t.test('an existing service gets a second route', async (t) => {
  const root = makeRepo(t);
  await extract({ root, match: 'GET /api/diaries', service: 'diaries' });
  const plan = await extract({ root, match: 'GET /api/users/:id/checkins', service: 'diaries' });
  t.same(plan.writes.map((w) => `${w.action} ${w.relative}`).sort(), [
    'create services/diaries/routes/users-checkins.ts',
    'create test/services/diaries/users-checkins.contract.test.ts',
    'create test/services/diaries/users-checkins.samples.jsonl',
    'update routes.yaml',
    'update services/diaries/app.ts',
    'update var/flags.json',
  ]);
  const app = await buildGeneratedApp(t, root, 'diaries');
  t.equal((await app.inject({ method: 'GET', url: '/api/diaries' })).statusCode, 501);
  const second = await app.inject({ method: 'GET', url: '/api/users/7/checkins' });
  t.equal(second.statusCode, 501);
  t.same(second.json(), { error: 'not implemented: GET /api/users/:id/checkins (strangler extract)' });
  t.equal((await app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200);
});

t.test('generated files typecheck under the repository tsconfig', async (t) => {
  const root = makeRepo(t);
  await extract({ root, match: 'GET /api/diaries', service: 'diaries', migration: true });
  await extract({ root, match: 'GET /api/users/:id/checkins', service: 'diaries' });
  await writeFile(
    path.join(root, 'tsconfig.json'),
    JSON.stringify({ extends: path.join(REPO, 'tsconfig.json'), include: ['services/diaries', 'migrations', 'test/services'] }),
  );
  const tsc = path.join(REPO, 'node_modules', 'typescript', 'bin', 'tsc');
  const result = await new Promise<{ code: number; output: string }>((resolve) => {
    execFile(process.execPath, [tsc, '--noEmit', '-p', root], { timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, output: stdout + stderr });
    });
  });
  t.equal(result.code, 0, result.output || 'tsc is happy');
});

t.test('clear errors, and nothing written', async (t) => {
  const root = makeRepo(t);
  const before = snapshot(root);
  const cases: Array<[string, Partial<ExtractOptions>, string]> = [
    ['a bad match string', { match: 'FETCH /api/diaries' }, 'STRANGLER_ERR_EXTRACT_BAD_MATCH'],
    ['more than one method', { match: 'GET,POST /api/diaries' }, 'STRANGLER_ERR_EXTRACT_BAD_MATCH'],
    ['a path without /', { match: 'GET api/diaries' }, 'STRANGLER_ERR_EXTRACT_BAD_MATCH'],
    ['an unknown config', { config: 'nope.yaml' }, 'STRANGLER_ERR_CONFIG_NOT_FOUND'],
    ['a route name clash', { route: 'rooms-get' }, 'STRANGLER_ERR_EXTRACT_ROUTE_NAME_TAKEN'],
    ['a path another route covers', { match: 'GET /api/rooms/summary' }, 'STRANGLER_ERR_EXTRACT_PATH_COVERED'],
    ['the same path as another route', { match: 'GET /api/rooms' }, 'STRANGLER_ERR_EXTRACT_PATH_COVERED'],
    ['a service name that is not one', { service: 'Diaries' }, 'STRANGLER_ERR_EXTRACT_BAD_NAME'],
  ];
  for (const [what, options, code] of cases) {
    await t.rejects(planExtraction({ root, match: 'GET /api/diaries', service: 'diaries', ...options }), { code }, what);
  }
  t.same(snapshot(root), before, 'nothing written');
});

t.test('a hand-made service without the marker is refused, not edited', async (t) => {
  const root = makeRepo(t);
  await extract({ root, match: 'GET /api/diaries', service: 'diaries' });
  const appFile = path.join(root, 'services/diaries/app.ts');
  const app = (await readFile(appFile, 'utf8')).replace(/^.*strangler extract: routes above.*\n/m, '');
  await writeFile(appFile, app);
  await t.rejects(planExtraction({ root, match: 'GET /api/leaderboard', service: 'diaries' }), { code: 'STRANGLER_ERR_EXTRACT_APP_MARKER_MISSING' });
  t.equal(await readFile(appFile, 'utf8'), app);
});

t.test('routes.yaml in other shapes: flow style, missing or empty keys', async (t) => {
  const additions = {
    service: { name: 'diaries', url: 'http://127.0.0.1:3102' },
    route: { name: 'diaries-list', match: 'GET /api/diaries', service: 'diaries', stage: 'shadow' },
  };
  const shapes: Record<string, string> = {
    'flow, empty': 'legacy: http://127.0.0.1:8000\nservices: {}   # none yet\nroutes: []\n',
    'flow, with items': 'legacy: http://127.0.0.1:8000\nservices: { rooms: http://127.0.0.1:3101 }\nroutes: [{ name: rooms-list, match: GET /api/rooms, service: rooms }]\n',
    'keys missing': 'legacy: http://127.0.0.1:8000   # the monolith',
    'keys empty': 'legacy: http://127.0.0.1:8000\nservices:\n# later\nroutes:\n',
  };
  for (const [name, source] of Object.entries(shapes)) {
    const edited = addToRoutesYaml(source, additions);
    const { config, problems } = validateConfig(edited, 'routes.yaml');
    t.same(problems, [], `${name}: validates`);
    t.equal(config?.services.diaries?.origin, 'http://127.0.0.1:3102', `${name}: service added`);
    t.match(config?.routes.find((r) => r.name === 'diaries-list'), { path: '/api/diaries', service: 'diaries', stage: 'shadow' }, `${name}: route added`);
    t.ok(edited.includes(source.split('\n')[0]), `${name}: the rest kept`);
  }
});

t.test('a routes.yaml with comments and `routes: []` keeps its layout: the new entries in block style', async (t) => {
  const source = [
    '# strangler in front of our shop',
    'listen: 127.0.0.1:8080            # the proxy',
    'legacy: http://127.0.0.1:28000    # nginx + php-fpm',
    'services: {}                      # none yet',
    '',
    '# routes leave the monolith one by one',
    'routes: []',
    '',
  ].join('\n');
  const edited = addToRoutesYaml(source, {
    service: { name: 'categories', url: 'http://127.0.0.1:3101' },
    route: { name: 'categories-list', match: 'GET /wp-json/wp/v2/categories', service: 'categories', stage: 'shadow' },
  });
  t.equal(edited, [
    '# strangler in front of our shop',
    'listen: 127.0.0.1:8080            # the proxy',
    'legacy: http://127.0.0.1:28000    # nginx + php-fpm',
    'services:                         # none yet',
    '  categories: http://127.0.0.1:3101',
    '',
    '# routes leave the monolith one by one',
    'routes:',
    '  - name: categories-list',
    '    match: GET /wp-json/wp/v2/categories',
    '    service: categories',
    '    stage: shadow',
    '',
  ].join('\n'));
  const again = addToRoutesYaml(edited, { route: { name: 'categories-get', match: 'GET /wp-json/wp/v2/categories/:id', service: 'categories', stage: 'shadow' } });
  t.equal(again, `${edited}  - name: categories-get\n    match: GET /wp-json/wp/v2/categories/:id\n    service: categories\n    stage: shadow\n`, 'the next route goes under it, in the same style');
  t.same(validateConfig(again, 'routes.yaml').problems, []);
});

t.test('--from-legacy records answers of legacy now, and only once', async (t) => {
  const legacy = await startUpstream('legacy', (req, res) => {
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'set-cookie': 'PHPSESSID=secret' });
    res.end(JSON.stringify({ data: [], url: req.url }));
  });
  t.teardown(() => legacy.close());
  const root = makeRepo(t);
  const options = { root, match: 'GET /api/diaries', service: 'diaries', fromLegacy: legacy.url, paths: ['/api/diaries?user=1', '/api/diaries?user=2'] };
  const plan = await extract(options);
  t.same(plan.samples, { file: 'test/services/diaries/diaries-list.samples.jsonl', added: 2, total: 2 });
  const samples = readFileSync(path.join(root, plan.samples.file), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as RecordedExchange);
  t.same(samples.map((s) => [s.request.url, s.response?.status, JSON.parse(s.response?.body ?? '{}').url]), [
    ['/api/diaries?user=1', 200, '/api/diaries?user=1'],
    ['/api/diaries?user=2', 200, '/api/diaries?user=2'],
  ]);
  t.equal(samples[0].response?.headers['set-cookie'], '[redacted]', 'secrets redacted as the recorder does');
  const again = await planExtraction(options);
  t.same(again.writes, [], 'a second run records nothing');
  t.equal(legacy.seen.length, 2, 'and does not ask legacy again');
  await t.rejects(planExtraction({ ...options, paths: ['/api/rooms'] }), { code: 'STRANGLER_ERR_EXTRACT_SAMPLE_PATH' });
  await t.rejects(planExtraction({ ...options, match: 'POST /api/diaries' }), { code: 'STRANGLER_ERR_EXTRACT_UNSAFE_RECORDING' });
});

t.test('given no samples, extract records the route\'s path from routes.yaml\'s legacy, once', async (t) => {
  const legacy = await startUpstream('legacy', (req, res) => {
    res.writeHead(400, { 'content-type': 'application/json; charset=utf-8' });
    res.end(JSON.stringify({ error: 'user must be a positive integer', url: req.url }));
  });
  t.teardown(() => legacy.close());
  const root = makeRepo(t, demoRoutesWithLegacy(legacy.url));
  const options = { root, match: 'GET /api/diaries', service: 'diaries' };
  const plan = await extract(options);
  t.same(legacy.seen.map((r) => `${r.method} ${r.url}`), ['GET /api/diaries'], 'legacy of routes.yaml was asked for the route\'s path');
  t.same(plan.samples, { file: 'test/services/diaries/diaries-list.samples.jsonl', added: 1, total: 1 });
  const [sample] = readFileSync(path.join(root, plan.samples.file), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as RecordedExchange);
  t.match(sample, { route: 'diaries-list', request: { method: 'GET', url: '/api/diaries' }, response: { status: 400 } }, 'legacy\'s answer is the sample');
  t.match(formatPlan(plan, { dryRun: false }), new RegExp(`note: recorded GET /api/diaries from legacy at ${legacy.url} as the only sample; add the requests that matter .* --paths "/api/diaries\\?…,…"`));
  const again = await planExtraction(options);
  t.same(again.writes, [], 'a second run plans nothing');
  t.equal(legacy.seen.length, 1, 'and does not ask legacy again');
});

t.test('--paths alone records those requests from routes.yaml\'s legacy', async (t) => {
  const legacy = await startUpstream('legacy');
  t.teardown(() => legacy.close());
  const root = makeRepo(t, demoRoutesWithLegacy(legacy.url));
  const logged = t.capture(console, 'log');
  const cwd = process.cwd();
  process.chdir(root);
  try {
    t.equal(await extractCommand.run(['GET /api/diaries', '--service', 'diaries', '--paths', '/api/diaries?user=1,/api/diaries?user=2']), 0);
  } finally {
    process.chdir(cwd);
  }
  t.same(legacy.seen.map((r) => r.url), ['/api/diaries?user=1', '/api/diaries?user=2']);
  t.match(logged().map((c) => c.args.join(' ')).join('\n'), /created\s+test\/services\/diaries\/diaries-list\.samples\.jsonl\s+2 recorded request\(s\)/);
});

t.test('no samples to be had: the plan says which flag to pass, and the generated test is a TODO saying so', async (t) => {
  const legacy = await startUpstream('legacy');
  t.teardown(() => legacy.close());
  const root = makeRepo(t, demoRoutesWithLegacy(legacy.url));

  const withParams = await extract({ root, match: 'GET /api/users/:id/checkins', service: 'checkins' });
  t.same(legacy.seen, [], 'a path with parameters is not guessed at');
  t.equal(withParams.samples.total, 0);
  t.match(formatPlan(withParams, { dryRun: false }), /note: no samples: GET \/api\/users\/:id\/checkins has path parameters, so there is no one request to record; pass --paths "\/api\/users\/<id>\/checkins,…"/);

  const unsafe = await planExtraction({ root, match: 'POST /api/checkins', service: 'checkins' });
  t.same(legacy.seen, [], 'a POST is never sent to legacy');
  t.match(unsafe.notes, [/no samples: extract only asks legacy safe requests .* pass --samples <recording>/]);

  const run = await runTsFile(path.join(root, 'test/services/checkins/users-checkins.contract.test.ts'), { cwd: root });
  t.equal(run.code, 0, `npm test stays green: ${run.stderr}`);
  t.match(run.stdout, /not ok 1 - users-checkins: no samples to hold the service to # TODO record some: strangler extract "GET \/api\/users\/:id\/checkins" --service checkins --paths "<path>,<path>" \(asks legacy at http:\/\/127\.0\.0\.1:\d+\), or --samples <recording>/);
});

t.test('legacy not running: a note says how to get samples, and the scaffold is still planned', async (t) => {
  const away = await planExtraction({ root: makeRepo(t), match: 'GET /api/diaries', service: 'diaries' });
  t.match(away.notes, [/no samples: legacy at http:\/\/127\.0\.0\.1:9 could not be asked for samples .* start it/]);
  t.ok(away.writes.some((w) => w.relative === 'routes.yaml'));
  t.equal(away.samples.total, 0);
});

t.test('the contract test against real legacy', { skip: phpSkipReason }, async (t) => {
  const legacyDb = `sqlite:${path.join(t.testdir(), 'timing.sqlite')}`;
  const legacy = await startTestLegacy(t, legacyDb);
  // the generated test against this legacy, the service on legacy's own database
  const live = { CONTRACT_LEGACY_URL: legacy.url, DATABASE_URL: legacyDb };

  t.test('generated: TODO while the handler answers 501, samples checked against legacy', async (t) => {
    const root = makeRepo(t);
    const plan = await extract({ root, match: 'GET /api/diaries', service: 'diaries', fromLegacy: legacy.url, paths: ['/api/diaries?user=1', '/api/diaries?user=abc'] });
    const testFile = path.join(root, 'test/services/diaries/diaries-list.contract.test.ts');
    t.ok(plan.writes.some((w) => w.file === testFile));
    const run = await runTsFile(testFile, { cwd: root, env: live });
    t.equal(run.code, 0, 'passes (the differences are TODO)');
    t.match(run.stdout, /not ok 1 - sample 1: GET \/api\/diaries\?user=1 answers as recorded # TODO handler not implemented yet: 2 of 2 samples differ/);
    t.match(run.stdout, /not ok 2 - sample 1: GET \/api\/diaries\?user=1 answers like live legacy # TODO handler not implemented yet: 2 of 2 samples differ/);
    t.match(run.stdout, /ok 3 - sample 1: GET \/api\/diaries\?user=1: the recorded answer still matches live legacy/);
    t.match(run.stdout, /ok 6 - sample 2: GET \/api\/diaries\?user=abc: the recorded answer still matches live legacy/);
  });

  t.test('implemented with a wrong field: the generated test fails plainly and names the path', async (t) => {
    const root = makeRepo(t);
    await extract({ root, match: 'GET /api/diaries', service: 'diaries', fromLegacy: legacy.url, paths: ['/api/diaries?user=1'] });
    const testFile = path.join(root, 'test/services/diaries/diaries-list.contract.test.ts');

    const todo = await runTsFile(testFile, { cwd: root, env: live });
    t.equal(todo.code, 0, 'while the handler answers 501: TODO, green');
    t.match(todo.stdout, /not ok 2 - sample 1: GET \/api\/diaries\?user=1 answers like live legacy # TODO handler not implemented yet: 1 of 1 samples differ/);
    t.match(todo.stdout, /answers like live legacy # TODO handler not implemented yet[^\n]*\n\s+---\n\s+outcome: candidate-error\n\s+reason: the candidate answered 501 where the primary answered 200\n\s+differences:\n\s+- path: status\n\s+kind: status\n\s+legacy: 200\n\s+service: 501\n\s+- path: \$\.data\n/, 'the TODO says why: the differences, with their paths and both values');

    // the real implementation, with one field wrong
    const implemented = readFileSync(path.join(REPO, 'services/diaries/routes/diaries-list.ts'), 'utf8');
    const wrong = implemented.replace('title: String(row.title),', "title: `${String(row.title)}!`,");
    t.not(wrong, implemented, 'the field to break is in the implementation');
    await writeFile(path.join(root, 'services/diaries/routes/diaries-list.ts'), wrong);
    const failed = await runTsFile(testFile, { cwd: root, env: live });
    t.not(failed.code, 0, 'the test fails');
    t.match(failed.stdout, /not ok 1 - sample 1: GET \/api\/diaries\?user=1 answers as recorded\n/, 'plainly: no TODO');
    t.match(failed.stdout, /not ok 2 - sample 1: GET \/api\/diaries\?user=1 answers like live legacy\n/);
    t.notMatch(failed.stdout, /# TODO/);
    t.match(failed.stdout, /path: \$\.data\[0\]\.title[\s\S]*service: [^\n]*!/, 'and names the differing path with the service\'s value');
    t.match(failed.stdout, /ok 3 - sample 1: GET \/api\/diaries\?user=1: the recorded answer still matches live legacy/, 'the sample itself is still right');

    await writeFile(path.join(root, 'services/diaries/routes/diaries-list.ts'), implemented);
    const passed = await runTsFile(testFile, { cwd: root, env: live });
    t.equal(passed.code, 0, `the real implementation passes: ${passed.stdout}`);
  });

  t.test('an implemented service passes, a sample that no longer describes legacy fails', async (t) => {
    const root = makeRepo(t);
    const config = path.join(root, 'routes.yaml');
    const samplesFile = path.join(root, 'rooms-list.samples.jsonl');
    const matcher = buildRouteMatcher('GET', '/api/rooms');
    const recorded = await recordFromLegacy(legacy.url, ['/api/rooms?per_page=3', '/api/rooms?topic=math&per_page=2', '/api/rooms?page=0'], { name: 'rooms-list', method: 'GET', matcher, match: 'GET /api/rooms' }, { max: 20, skip: new Set(), redactor: createRedactor() });
    const stale = structuredClone(recorded[0]);
    const body = JSON.parse(stale.response!.body);
    body.data[0].name = 'Renamed since';
    stale.response!.body = JSON.stringify(body);
    await writeFile(samplesFile, [...recorded, stale].map((e) => JSON.stringify(e)).join('\n'));

    let run!: Awaited<ReturnType<typeof runContract>>;
    await t.test('run', async (t) => {
      run = await runContract(t, { config, route: 'rooms-list', samples: samplesFile, buildApp: (o) => buildRoomsApp({ db: o.db }), env: live });
    });
    t.same(run.samples.map((s) => s.live?.outcome), ['match', 'match', 'match', 'match'], 'the rooms service answers like legacy');
    t.same(run.samples.map((s) => s.recorded?.outcome), ['match', 'match', 'match', 'mismatch'], 'and as recorded, request ids learned as noise');
    t.same(run.samples.map((s) => s.stub), [false, false, false, false]);
    t.same(run.samples.map((s) => s.stillTrue?.outcome), ['match', 'match', 'match', 'mismatch'], 'the tampered sample is caught');
    t.match(run.samples[3].stillTrue?.differences, [{ path: '$.data[0].name', primary: 'Renamed since' }]);
    t.ok(run.noise.some((n) => n.pattern === '$.request_id'), 'request ids learned as noise');
    const reported = await t.test('report of the good samples', async (t) => reportContract(t, { ...run, samples: run.samples.slice(0, 3) }));
    t.ok(reported, 'no TODO, no failure');
  });
});
