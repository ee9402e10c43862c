import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import t from 'tap';
import { validateConfig } from '../../proxy/config/validate-config.ts';
import { runCli } from '../helpers/cli.ts';

const GOOD = `listen: 127.0.0.1:8080
legacy: http://127.0.0.1:8000
services:
  rooms: http://127.0.0.1:3101
routes:
  - name: rooms-list
    match: GET /api/rooms
    service: rooms
  - name: rooms-get
    match: GET /api/rooms/:id
    service: rooms
`;

const FILE = '/etc/strangler/routes.yaml';
const check = (source: string, env: NodeJS.ProcessEnv = {}) => validateConfig(source, FILE, env);

t.test('a good file gives a frozen config with defaults filled in', async (t) => {
  const { config, problems } = check(GOOD);
  t.same(problems, []);
  t.ok(config && Object.isFrozen(config) && Object.isFrozen(config.routes[0]));
  t.match(config, {
    listen: { host: '127.0.0.1', port: 8080 },
    flags: { kind: 'file', file: '/etc/strangler/flags.json' },
    context: { userId: { header: 'x-user-id' }, sessionId: { cookie: 'PHPSESSID' } },
    upstreamTimeoutMs: 30000,
    targetHeader: true,
    routes: [{ name: 'rooms-list', methods: ['GET'], path: '/api/rooms', flag: 'rooms-list', line: 6 }, { name: 'rooms-get', line: 9 }],
  });
});

// one case per kind of bad file: [what, source, line, message]
const BAD: Array<[string, string, number, RegExp]> = [
  ['YAML syntax', GOOD.replace('match: GET /api/rooms\n', 'match: GET /api/rooms: x\n'), 7, /YAML syntax: .*check indentation, and quote values/],
  ['a duplicate key', GOOD.replace('    service: rooms\n  - name: rooms-get', '    service: rooms\n    service: rooms\n  - name: rooms-get'), 9, /YAML syntax: Map keys must be unique; remove one of the two keys/],
  ['unknown top-level key with a suggestion', GOOD.replace('listen:', 'lisen:'), 1, /unknown key "lisen"; did you mean "listen"\?/],
  ['unknown route key', GOOD.replace('    match: GET /api/rooms\n', '    match: GET /api/rooms\n    servise: rooms\n'), 8, /unknown key "servise"; did you mean "service"\?/],
  ['route naming an unknown service', GOOD.replace('    match: GET /api/rooms/:id\n    service: rooms', '    match: GET /api/rooms/:id\n    service: room'), 11, /unknown service "room"; did you mean "rooms"\? services are: rooms/],
  ['duplicate route names', GOOD.replace('name: rooms-get', 'name: rooms-list'), 9, /duplicate route name "rooms-list" \(first used on line 6\)/],
  ['two routes with the same match', GOOD.replace('GET /api/rooms/:id', 'GET /api/rooms'), 10, /"GET \/api\/rooms" is already matched by route "rooms-list" \(line 6\)/],
  ['same match with another param name', GOOD + '  - name: rooms-other\n    match: GET /api/rooms/:roomId\n    service: rooms\n', 13, /already matched by route "rooms-get"/],
  ['a bad URL', GOOD.replace('http://127.0.0.1:3101', 'htp//127.0.0.1:3101'), 4, /"htp\/\/127.0.0.1:3101" is not an http\(s\) URL; write e.g. http:\/\/127.0.0.1:3101/],
  ['a missing service on a route', GOOD.replace('    match: GET /api/rooms\n    service: rooms\n', '    match: GET /api/rooms\n'), 6, /service: missing; add service: <one of rooms>/],
  ['an upstream URL with a path', GOOD.replace('http://127.0.0.1:8000', 'http://127.0.0.1:8000/app'), 2, /has a path or query; .* write only scheme, host and port, e.g. http:\/\/127.0.0.1:8000/],
  ['a bad match', GOOD.replace('GET /api/rooms/:id', 'FETCH /api/rooms/:id'), 10, /unknown method FETCH/],
  ['a bad listen', GOOD.replace('127.0.0.1:8080', 'localhost'), 1, /"localhost" is not host:port/],
  ['missing legacy', GOOD.replace('legacy: http://127.0.0.1:8000\n', ''), 1, /legacy: missing; add legacy:/],
  ['an unset environment variable', GOOD + 'testers:\n  secret: ${TESTER_SECRET}\n', 13, /environment variable TESTER_SECRET is not set; export TESTER_SECRET=..., or write \$\{TESTER_SECRET:-default\}/],
  ['an unknown stage', GOOD.replace('    service: rooms\n  - name: rooms-get', '    service: rooms\n    stage: shadw\n  - name: rooms-get'), 9, /unknown stage "shadw"; did you mean "shadow"\? write one of legacy, shadow, canary, cutover/],
  ['writes copied to a service that is not a sandbox', GOOD.replace('    match: GET /api/rooms/:id\n', '    match: GET,POST /api/rooms/:id\n    stage: shadow\n    shadow: { writes: rooms }\n'), 12, /"rooms" is not a sandbox; copies of writes go only to a service declared with sandbox: true/],
  ['a shadow of writes only without a sandbox', GOOD + '  - name: join\n    match: POST /api/rooms/:id/join\n    service: rooms\n    stage: shadow\n    shadow: { sample: 10% }\n', 16, /matches only writes \(POST\), which are never copied without a sandbox; add writes:/],
  ['a bad compare rule', GOOD + '  - name: me\n    match: GET /api/me\n    service: rooms\n    compare: { ignore: ["$.data[", 3] }\n', 15, /compare: .*ignore/],
  ['a bad sample', GOOD + '  - name: me\n    match: GET /api/me\n    service: rooms\n    shadow: { sample: 150% }\n', 15, /"150%" is not a share; write a percentage from 0% to 100%/],
  ['record without a recording section', GOOD + '  - name: me\n    match: GET /api/me\n    service: rooms\n    record: 5%\n', 1, /sets record: but there is no recording: section; add recording: \{ file: var\/recordings\/traffic.jsonl \}/],
  ['a bad duration', GOOD + 'upstreamTimeout: soon\n', 12, /"soon" is not a duration; write e.g. 500ms, 30s, 2m/],
  ['a tester secret shorter than 16 characters', GOOD + 'testers:\n  secret: s3cret\n', 13, /testers.secret: a secret must be at least 16 characters; generate one with: openssl rand -hex 24/],
];

for (const [what, source, line, message] of BAD) {
  t.test(`rejects ${what}, naming the line`, async (t) => {
    const { config, problems } = check(source);
    t.equal(config, undefined, 'no config comes out');
    const problem = problems.find((p) => message.test(p.message) || message.test(`${p.path}: ${p.message}`));
    t.equal(problems.length, 1, 'one mistake, one problem (no cascade)');
    t.ok(problem, `a problem says ${message}: got ${JSON.stringify(problems)}`);
    t.equal(problem?.line, line, 'on the right line');
    t.equal(problem?.file, FILE);
  });
}

t.test('every problem is reported at once', async (t) => {
  const source = GOOD.replace('lisen', 'x').replace('listen:', 'lisen:').replace('service: rooms', 'service: nope').replace('name: rooms-get', 'name: rooms-list');
  const { problems } = check(source);
  t.ok(problems.length >= 3, `${problems.length} problems: ${problems.map((p) => p.line + ' ' + p.message).join(' | ')}`);
});

t.test('${VAR} and ${VAR:-default} are expanded from the environment', async (t) => {
  const source = GOOD.replace('http://127.0.0.1:3101', '${ROOMS_URL:-http://127.0.0.1:3101}') + 'testers:\n  secret: ${SECRET}\n';
  const secret = 'a-tester-secret-of-24-ch';
  const { config } = check(source, { SECRET: secret, ROOMS_URL: 'http://10.0.0.5:80' });
  t.equal(config?.testers.secret, secret);
  t.equal(config?.services.rooms.origin, 'http://10.0.0.5');
  t.equal(check(source, { SECRET: secret }).config?.services.rooms.origin, 'http://127.0.0.1:3101', 'default used when unset');
});

t.test('a tester secret is 16 characters or more, or empty (x-strangler-force ignored)', async (t) => {
  t.equal(check(GOOD + 'testers:\n  secret: 0123456789abcdef\n').config?.testers.secret, '0123456789abcdef');
  t.equal(check(GOOD + 'testers:\n  secret: ${SECRET:-}\n').config?.testers.secret, '');
});

t.test('limits.rate and a route\'s limit.rate of 0 mean no limit, as the README says', async (t) => {
  for (const zero of ['0', '"0"', '0/s', '0/m']) {
    const source = GOOD.replace('    match: GET /api/rooms\n', `    match: GET /api/rooms\n    limit: { rate: ${zero} }\n`) + `limits:\n  rate: ${zero}\n`;
    const { config, problems } = check(source);
    t.same(problems, [], `rate: ${zero} is accepted`);
    t.equal(config?.limits.ratePerS, 0, `limits.rate: ${zero} is no limit`);
    t.equal(config?.routes[0].limit.ratePerS, 0, `limit.rate: ${zero} is no limit`);
  }
  t.match(check(GOOD + 'limits:\n  rate: fast\n').problems, [{ path: 'limits.rate', message: /"fast" is not a rate; write e.g. rate: 200\/s or 600\/m \(0 = no limit\)/ }]);
});

t.test('UNLEASH_URL + UNLEASH_API_TOKEN switch to server mode without editing the file', async (t) => {
  const { config } = check(GOOD, { UNLEASH_URL: 'http://127.0.0.1:4242/api', UNLEASH_API_TOKEN: 'default:development.abc' });
  t.match(config?.flags, { kind: 'unleash', url: 'http://127.0.0.1:4242/api', token: 'default:development.abc' });
  const half = check(GOOD, { UNLEASH_URL: 'http://127.0.0.1:4242/api' });
  t.match(half.problems[0].message, /UNLEASH_URL is set but UNLEASH_API_TOKEN is not/);
});

t.test('strangler check: exit 0 on a good file, 1 with file:line problems on a bad one', async (t) => {
  const dir = t.testdir();
  await writeFile(path.join(dir, 'routes.yaml'), GOOD);
  await writeFile(path.join(dir, 'bad.yaml'), GOOD.replace('service: rooms', 'service: room'));
  const good = await runCli(['check'], { cwd: dir });
  t.equal(good.code, 0, good.stderr);
  t.match(good.stdout, /routes.yaml: ok — 2 route\(s\), 1 service\(s\)/);
  const bad = await runCli(['check', '--config', 'bad.yaml'], { cwd: dir });
  t.equal(bad.code, 1);
  t.match(bad.stderr, new RegExp(`${path.join(dir, 'bad.yaml').replace(/[/.]/g, '\\$&')}:8:14 routes\\[0\\]\\.service: unknown service "room"`));
  const json = await runCli(['check', '--config', 'bad.yaml', '--json'], { cwd: dir });
  t.match(JSON.parse(json.stdout), { ok: false, problems: [{ line: 8, path: 'routes[0].service' }] });
  const missing = await runCli(['check', '--config', 'nope.yaml'], { cwd: dir });
  t.equal(missing.code, 1);
  t.match(missing.stderr, /nope.yaml not found: pass --config <file> or create routes.yaml/);
});
