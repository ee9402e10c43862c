import { spawn, spawnSync } from 'node:child_process';
import http from 'node:http';
import { createServer } from 'node:net';
import path from 'node:path';
import t from 'tap';
import { validateConfig } from '../../proxy/config/validate-config.ts';
import { BAD_REQUEST_TARGET, buildRouteTable, UNREADABLE_QUERY } from '../../proxy/routing/route-table.ts';
import { eventually, startUpstream } from '../helpers/http.ts';
import { startTestProxy } from '../helpers/proxy.ts';

const FILE = '/etc/strangler/routes.yaml';
const HEAD = 'legacy: http://127.0.0.1:8000\nservices:\n  wp: http://127.0.0.1:3101\nroutes:\n';
const check = (routes: string) => validateConfig(HEAD + routes, FILE, {});

/** A GET with the target sent byte for byte (a URL string would be re-encoded and its # dropped). */
function get(base: string, target: string): Promise<{ status: number; target: string; body: string }> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: hostname, port, path: target, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, target: String(res.headers['x-strangler-target'] ?? ''), body }));
    });
    req.on('error', reject);
    req.end();
  });
}

t.test('query: is validated with located errors', async (t) => {
  const good = check('  - name: cats\n    match: GET /\n    query: { rest_route: /wp/v2/posts/:id }\n    service: wp\n  - name: home\n    match: GET /\n    service: wp\n');
  t.same(good.problems, []);
  t.same(good.config?.routes[0].query, { rest_route: { value: '/wp/v2/posts/:id', ignoreCase: false } });
  t.same(good.config?.routes[1].query, {}, 'a route without query: has no conditions');

  const cases: Array<[string, string, number, RegExp]> = [
    ['a dot in the name', '    query: { rest.route: /x }\n', 7, /PHP reads the parameter "rest\.route" as "rest_route" \(spaces and dots become _\); write rest_route/],
    ['an array name', '    query: { "a[]": /x }\n', 7, /"a\[\]" is not a parameter name PHP's \$_GET can hold a text value under/],
    ['an empty query', '    query: {}\n', 7, /must be a mapping of query parameters to values/],
    ['a bad placeholder', '    query: { rest_route: "/wp/v2/posts/:1" }\n', 7, /":1" is not a placeholder; a whole segment written :name/],
    ['a bad regex', '    query: { rest_route: { regex: "^(/wp" } }\n', 7, /"\^\(\/wp" is not a regular expression/],
    ['value and regex both', '    query: { rest_route: { value: /x, regex: x } }\n', 7, /give exactly one of value or regex/],
    ['an unknown condition key', '    query: { rest_route: { valu: /x } }\n', 7, /unknown key "valu"; did you mean "value"\?/],
    ['a query in the match', '', 6, /has a query string; match the path here and the parameters under query:, e.g. match: "GET \/" and query: \{ rest_route: \/wp\/v2\/categories \}/],
  ];
  for (const [what, query, line, message] of cases) {
    const match = query ? 'GET /' : 'GET /?rest_route=/x';
    const { config, problems } = check(`  - name: cats\n    match: ${match}\n${query}    service: wp\n`);
    t.equal(config, undefined, `${what}: no config`);
    t.match(problems, [{ file: FILE, line, message }], `${what}: ${JSON.stringify(problems.map((p) => `${p.line} ${p.path}: ${p.message}`))}`);
  }
  const twice = check('  - name: a\n    match: GET /\n    query: { page: x }\n    service: wp\n  - name: b\n    match: GET,HEAD /\n    query: { page: x }\n    service: wp\n');
  t.match(twice.problems, [{ line: 10, path: 'routes[1].match', message: /"GET \/\?page=x" is already matched by route "a" \(line 5\)/ }], 'the same path and query twice');
  t.same(check('  - name: a\n    match: GET /\n    query: { page: x }\n    service: wp\n  - name: b\n    match: GET /\n    query: { page: y }\n    service: wp\n').problems, [], 'the same path with another value is another route');
});

t.test('the route table: query routes by file order, then the path\'s own route; nothing else changes', async (t) => {
  const { config } = check(`  - name: post
    match: GET /
    query: { rest_route: /wp/v2/posts/:id }
    service: wp
  - name: post-with-context
    match: GET /
    query: { rest_route: /wp/v2/posts/:id, context: edit }
    service: wp
  - name: home
    match: GET /
    service: wp
  - name: rooms
    match: GET /api/rooms/:id
    service: wp
`);
  const table = buildRouteTable(config!.routes);
  const name = (url: string) => {
    const m = table.match('GET', url);
    return m && typeof m === 'object' ? m.route.name : m;
  };
  t.equal(name('/?rest_route=/wp/v2/posts/5'), 'post');
  t.equal(name('/?rest_route=/wp/v2/posts/5&context=edit'), 'post', 'the first route in routes.yaml whose conditions hold');
  t.equal(name('/?rest_route=/wp/v2/posts/'), 'home', ':id is one non-empty segment');
  t.equal(name('/?rest_route=/wp/v2/posts/5/6'), 'home');
  t.equal(name('/?rest_route[]=/wp/v2/posts/5'), 'home', 'an array is never a value');
  t.equal(name('/'), 'home', 'no ? : the path alone decides');
  t.equal(name('/api/rooms/1?rest_route=/wp/v2/posts/5'), 'rooms', 'a query route on / is not one on every path');
  t.equal(name('/nothing?rest_route=/wp/v2/posts/5'), null);
  t.equal(name('/?rest_route=/wp/v2/posts/5%0A'), UNREADABLE_QUERY);
  t.equal(name('/api/rooms/1?x=%0A#y'), 'rooms', 'the query of a path without query routes is never read');
  t.equal(name('/api/rooms/%zz'), BAD_REQUEST_TARGET);
  t.same((table.match('GET', '/api/rooms/7') as { params: unknown }).params, { id: '7' });
});

/**
 * A WordPress-like front controller on real PHP (php -S): like WordPress, it reads rest_route
 * from $_GET on every path and matches it as WP_REST_Server does (untrailingslashit, then
 * preg_match('@^…$@i')).
 */
const FRONT_CONTROLLER = `<?php
$route = isset($_GET['rest_route']) && is_string($_GET['rest_route']) ? rtrim($_GET['rest_route'], '/') : null;
header('content-type: text/plain');
if ($route !== null && preg_match('@^/wp/v2/categories$@i', $route)) { echo 'legacy categories'; return; }
echo 'legacy other';
`;

const hasPhp = spawnSync('sh', ['-c', 'command -v php']).status === 0;

t.test('at cutover, no spelling of a query-routed request reaches legacy\'s handler (real PHP behind the proxy)', { skip: hasPhp ? false : 'php is not on PATH: the real-PHP query routing test is SKIPPED' }, async (t) => {
  const dir = t.testdir({ php: { 'index.php': FRONT_CONTROLLER }, proxy: {} });
  const port = await new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
  const php = spawn('php', ['-S', `127.0.0.1:${port}`, path.join(dir, 'php', 'index.php')], { cwd: path.join(dir, 'php'), stdio: 'ignore' });
  t.teardown(() => void php.kill());
  const legacyUrl = `http://127.0.0.1:${port}`;
  await eventually(() => get(legacyUrl, '/').then((r) => r.status === 200).catch(() => false), { timeoutMs: 10_000 });
  // the service is slower than PHP here, as a cold one may be
  const wp = await startUpstream('wp', (req, res) => setTimeout(() => res.end(`service ${req.url}`), 100));
  const proxy = await startTestProxy({
    dir: path.join(dir, 'proxy'),
    legacy: legacyUrl,
    services: { wp: wp.url },
    routes: `
  - name: categories
    match: GET /*
    query: { rest_route: { regex: "^/wp/v2/categories/?$", ignoreCase: true } }
    service: wp
    stage: cutover
  - name: rooms
    match: GET /api/rooms/:id
    service: wp
    stage: cutover
`,
  });
  t.teardown(async () => {
    await proxy.close();
    await wp.close();
  });

  const spellings = [
    '/?rest_route=/wp/v2/categories',
    '/?rest_route=/wp/v2/categories/',
    '/?rest_route=/WP/V2/Categories',
    '/?rest_route=%2Fwp%2Fv2%2Fcategories',
    '/?rest_route=%2fwp%2fv2%2fcategories',
    '/?rest%5Froute=/wp/v2/categories',
    '/?rest.route=/wp/v2/categories',
    '/?rest+route=/wp/v2/categories',
    '/?%20rest_route=/wp/v2/categories',
    '/?rest[route=/wp/v2/categories',
    '/?rest_route%00x=/wp/v2/categories',
    '/?rest_route=/wp/v2/users&rest_route=/wp/v2/categories',
    '/?rest_route[]=/x&rest_route=/wp/v2/categories',
    '/?a=1&&rest_route=/wp/v2/categories&',
    '//?rest_route=/wp/v2/categories',
    '/index.php?rest_route=/wp/v2/categories',
    '/hello-world/?rest_route=/wp/v2/categories',
    '/api/rooms/1?rest_route=/wp/v2/categories',
    '/?rest_route=/wp/v2/categories%0A',
    '/?rest_route=/wp/v2/categories%0D%0A',
    '/?rest_route=/wp/v2/categories#frag',
    `/?${Array.from({ length: 1000 }, (_, i) => `v${i}=1`).join('&')}&rest_route=/wp/v2/categories&rest_route=/x`,
  ];
  const legacyServed: string[] = [];
  const phpCategories: string[] = [];
  for (const target of spellings) {
    const direct = await get(legacyUrl, target);
    t.equal(direct.status, 200, `PHP answers ${target} directly`);
    const via = await get(proxy.url, target);
    if (via.body === 'legacy categories') legacyServed.push(target);
    if (direct.body === 'legacy categories') {
      phpCategories.push(target);
      t.not(via.target, 'legacy', `${target}: PHP routes it to categories, so the proxy keeps it off legacy (${via.status} ${via.target || 'proxy'})`);
    }
  }
  // all but \r\n (PCRE's $ allows one final \n only) and the last (PHP stops reading at max_input_vars)
  const notCategories = new Set([spellings.at(-1), '/?rest_route=/wp/v2/categories%0D%0A']);
  t.same(phpCategories, spellings.filter((s) => !notCategories.has(s)), 'PHP itself reads these spellings as the categories route');
  t.same(legacyServed, [], 'legacy\'s categories handler answered no request through the proxy');

  const answered = await get(proxy.url, '/?rest_route=/wp/v2/categories');
  t.equal(answered.body, 'service /?rest_route=/wp/v2/categories', 'the service receives the query exactly as sent');
  const refused = await get(proxy.url, '/?rest_route=/wp/v2/categories%0A');
  t.equal(refused.status, 400);
  t.match(JSON.parse(refused.body), { error: { code: 'STRANGLER_ERR_UNREADABLE_QUERY' } });
  for (const [target, body] of [
    ['/?rest_route=/wp/v2/users', 'legacy other'],
    ['/?rest_route=/wp/v2/categories&rest_route=/wp/v2/users', 'legacy other'],
    ['/?rest_route[]=/wp/v2/categories', 'legacy other'],
    ['/?x_rest_route=/wp/v2/categories', 'legacy other'],
    ['/', 'legacy other'],
  ] as const) {
    const reply = await get(proxy.url, target);
    t.same([reply.target, reply.body], ['legacy', body], `${target} stays on legacy`);
  }
  t.equal((await get(proxy.url, '/api/rooms/1?x=1')).target, 'wp', 'a path route still matches with any query');
});
