import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import t from 'tap';
import { runCli } from '../helpers/cli.ts';

const ROUTES = `legacy: http://127.0.0.1:8000
services:
  rooms: http://127.0.0.1:3101
flags:
  file: flags.json
routes:
  - name: rooms-list
    match: GET /api/rooms
    service: rooms
    stage: shadow
  - name: rooms-get
    match: GET /api/rooms/:id
    service: rooms
    stage: cutover
  - name: bookings-get
    match: GET /api/bookings/:id
    service: rooms
    stage: cutover
`;

const DAY = 86_400_000;
const START = Date.parse('2026-11-01T10:00:00.000Z');

function proxyLine(at: number, url: string, route: string | null, target: string, status: number, ms: number): string {
  return (
    `{"level":30,"time":"${new Date(at).toISOString()}","pid":7,"name":"strangler","reqId":"x-${at}","method":"GET","url":"${url}",` +
    `"route":${route ? `"${route}"` : 'null'},"target":"${target}","reason":"stage","status":${status},"ms":${ms},"msg":"request completed"}`
  );
}

t.test('a proxy log: endpoints with coverage, the strangled share from targets, idle cutover routes', async (t) => {
  const dir = t.testdir();
  await writeFile(path.join(dir, 'routes.yaml'), ROUTES);
  const lines = [
    '{"level":30,"time":"2026-11-01T09:59:59.000Z","pid":7,"name":"strangler","routes":3,"msg":"proxy listening"}',
    proxyLine(START, '/api/bookings/1', 'bookings-get', 'legacy', 200, 40),
    ...[1, 2, 3, 4, 5, 6].map((id, i) => proxyLine(START + 20 * DAY + i, `/api/rooms/${id}`, 'rooms-get', 'rooms', 200, id)),
    proxyLine(START + 19 * DAY, '/api/rooms/7', 'rooms-get', 'legacy', 502, 300),
    proxyLine(START + 20 * DAY, '/api/rooms?page=2', 'rooms-list', 'legacy', 200, 12),
    proxyLine(START + 20 * DAY, '/index.php', null, 'legacy', 500, 80),
    '{"level":30,"time":"2026-11-',
  ];
  await writeFile(path.join(dir, 'proxy.log'), lines.join('\n') + '\n');

  const res = await runCli(['inventory', 'proxy.log', '--config', 'routes.yaml', '--idle-days', '14'], { cwd: dir });
  t.equal(res.code, 0, res.stderr);
  t.match(res.stdout, 'traffic from 2026-11-01T10:00:00.000Z to 2026-11-21T10:00:00.005Z in proxy.log (proxy log, 10 requests)');
  t.match(res.stdout, /^endpoint\s+requests\s+5xx %\s+p50\s+p99\s+covered by$/m);
  t.match(res.stdout, /^GET \/api\/rooms\/:id\s+7\s+14\.2 %\s+4\.0 ms\s+300 ms\s+rooms-get@cutover$/m);
  t.match(res.stdout, /^GET \/api\/bookings\/:id\s+1\s+0\.0 %\s+40 ms\s+40 ms\s+bookings-get@cutover$/m);
  t.match(res.stdout, /^GET \/api\/rooms\s+1\s+0\.0 %\s+12 ms\s+12 ms\s+rooms-list@shadow$/m);
  t.match(res.stdout, /^GET \/index\.php\s+1\s+100\.0 %\s+80 ms\s+80 ms\s+—$/m);
  t.match(res.stdout, '\n10 requests, 4 endpoints; 60.0 % strangled (served by services)\n');
  t.match(res.stdout, /idle legacy routes \(stage cutover, no request reached legacy for 14 days; candidates for deleting PHP code\):\n  bookings-get  last reached legacy 2026-11-01T10:00:00\.000Z, 1 requests in all$/m);
  t.notMatch(res.stdout, /^ {2}rooms-get/m, 'rooms-get reached legacy 2 days before the end');
  t.match(res.stderr, /1 line skipped, not readable as requests:\n {2}proxy\.log:12: not JSON/);

  const json = await runCli(['inventory', 'proxy.log', '--config', 'routes.yaml', '--json'], { cwd: dir });
  t.equal(json.code, 0, json.stderr);
  const inventory = JSON.parse(json.stdout);
  t.match(inventory, {
    total: 10,
    strangled: 6,
    strangledShare: 0.6,
    endpoints: [{ method: 'GET', pattern: '/api/rooms/:id', requests: 7, route: { name: 'rooms-get', stage: 'cutover' }, servedBy: { rooms: 6, legacy: 1 } }],
    idleLegacyRoutes: [{ route: 'bookings-get', stage: 'cutover', lastLegacyAt: '2026-11-01T10:00:00.000Z' }],
    malformed: { count: 1, examples: [{ line: 12 }] },
  });

  const top = await runCli(['inventory', 'proxy.log', '--config', 'routes.yaml', '--top', '2'], { cwd: dir });
  t.match(top.stdout, '… 2 more endpoints (--top 0 shows all)');
  t.notMatch(top.stdout, /^GET \/index\.php/m);
});

t.test('an nginx combined log (and its rotated .gz): cutover coverage counts as strangled', async (t) => {
  const dir = t.testdir();
  await writeFile(path.join(dir, 'routes.yaml'), ROUTES);
  const nginx = (day: string, request: string, status: number, seconds: string) =>
    `192.0.2.10 - - [${day}/Nov/2026:11:00:00 +0100] "${request}" ${status} 1024 "https://shop.example/rooms" "Mozilla/5.0 (Macintosh)" ${seconds}`;
  await writeFile(
    path.join(dir, 'access.log.1.gz'),
    gzipSync([nginx('01', 'GET /api/rooms/3 HTTP/1.1', 200, '0.020'), nginx('01', 'GET /api/bookings/9 HTTP/1.1', 200, '0.030')].join('\n') + '\n'),
  );
  await writeFile(
    path.join(dir, 'access.log'),
    [
      nginx('20', 'GET /api/rooms/3 HTTP/1.1', 200, '0.010'),
      nginx('20', 'GET /api/rooms HTTP/1.1', 200, '0.050'),
      nginx('20', 'POST /booking.php?room=3 HTTP/1.1', 503, '1.500'),
      nginx('20', 'GET /users/u42/invoices/2026-10-01 HTTP/1.1', 200, '0.005'),
    ].join('\n') + '\n',
  );

  const res = await runCli(['inventory', 'access.log', 'access.log.1.gz', '--config', 'routes.yaml'], { cwd: dir });
  t.equal(res.code, 0, res.stderr);
  t.match(res.stdout, 'in access.log (combined log, 4 requests), access.log.1.gz (combined log, 2 requests)');
  t.match(res.stdout, /^GET \/api\/rooms\/:id\s+2\s+0\.0 %\s+10 ms\s+20 ms\s+rooms-get@cutover$/m);
  t.match(res.stdout, /^POST \/booking\.php\s+1\s+100\.0 %\s+1500 ms\s+1500 ms\s+—$/m);
  t.match(res.stdout, /^GET \/users\/:id\/invoices\/:id\s+1\s+0\.0 %\s+5\.0 ms\s+5\.0 ms\s+—$/m);
  t.match(res.stdout, '\n6 requests, 5 endpoints; 50.0 % strangled (served by services)\n');
  t.match(res.stdout, 'nginx/Apache lines count as strangled when a route in stage cutover covers them');
  t.match(res.stdout, /^ {2}bookings-get {2}last reached legacy 2026-11-01T10:00:00\.000Z, 1 requests in all$/m, 'an nginx log only sees legacy');
  t.notMatch(res.stdout, /^ {2}rooms-get/m);
  t.equal(res.stderr, '');
});

t.test('--help, usage mistakes and missing files', async (t) => {
  const dir = t.testdir();
  await writeFile(path.join(dir, 'access.log'), '203.0.113.7 - - [25/Nov/2026:10:00:00 +0000] "GET / HTTP/1.1" 200 5 "-" "-"\n');
  await writeFile(path.join(dir, 'notes.txt'), 'not a log\n');

  const help = await runCli(['inventory', '--help']);
  t.equal(help.code, 0);
  t.match(help.stdout, 'Usage: strangler inventory <log file>…');
  t.match(help.stdout, '--idle-days');
  t.match(help.stdout, 'Strangled share');

  const missing = await runCli(['inventory', 'access.log', 'nope.log'], { cwd: dir });
  t.equal(missing.code, 1);
  t.match(missing.stderr, 'access log nope.log not found');
  t.match(missing.stderr, '(STRANGLER_ERR_ACCESS_LOG_NOT_FOUND)');
  t.equal(missing.stdout, '', 'nothing is read before every file is found');

  const invalid = await runCli(['inventory', 'notes.txt'], { cwd: dir });
  t.equal(invalid.code, 1);
  t.match(invalid.stderr, /access log notes\.txt has no request line strangler can read/);
  t.match(invalid.stderr, '(STRANGLER_ERR_ACCESS_LOG_INVALID)');

  const noConfig = await runCli(['inventory', 'access.log'], { cwd: dir });
  t.equal(noConfig.code, 0, 'no routes.yaml here: an inventory without coverage');
  t.match(noConfig.stdout, /^GET \/\s+1\s+0\.0 %\s+—\s+—\s+—$/m);
  t.match(noConfig.stderr, 'coverage by routes is left out');

  const explicitConfig = await runCli(['inventory', 'access.log', '--config', 'missing.yaml'], { cwd: dir });
  t.equal(explicitConfig.code, 1, 'a --config that is missing is an error');
  t.match(explicitConfig.stderr, 'STRANGLER_ERR_CONFIG_NOT_FOUND');

  t.equal((await runCli(['inventory'], { cwd: dir })).code, 2);
  t.equal((await runCli(['inventory', 'access.log', '--format', 'json'], { cwd: dir })).code, 2);
  t.equal((await runCli(['inventory', 'access.log', '--idle-days', '0'], { cwd: dir })).code, 2);
});
