import t from 'tap';
import type { RouteConfig } from '../../proxy/config/schema.ts';
import { validateConfig } from '../../proxy/config/validate-config.ts';
import { ANSWERED_BY_PROXY, buildInventory, percentile } from '../../proxy/inventory/build-inventory.ts';
import { OTHER_LINE, parseCombinedLine, parseProxyLine, type AccessRecord } from '../../proxy/inventory/read-access-log.ts';

const ROUTES_YAML = `legacy: http://127.0.0.1:8000
services:
  rooms: http://127.0.0.1:3101
  bookings: http://127.0.0.1:3102
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
    service: bookings
    stage: cutover
  - name: invoices-get
    match: GET /api/invoices/:id
    service: bookings
    stage: cutover
  - name: file-one
    match: GET /files/1
    service: rooms
    stage: canary
`;

function routes(): readonly RouteConfig[] {
  const { config, problems } = validateConfig(ROUTES_YAML, '/tmp/routes.yaml', {});
  if (!config) throw new Error(problems.map((p) => p.message).join('\n'));
  return config.routes;
}

const DAY = 86_400_000;
const T0 = Date.parse('2026-11-01T00:00:00.000Z');

/** A line as proxy/access-log.ts writes it (with the proxy logger's ISO time). */
function proxyLine(at: number, method: string, url: string, route: string | null, target: string | null, status: number, ms: number): string {
  return (
    `{"level":30,"time":"${new Date(at).toISOString()}","pid":1,"name":"strangler","reqId":"r-${at}","method":"${method}","url":${JSON.stringify(url)}` +
    `,"route":${route ? `"${route}"` : 'null'},"target":${target ? `"${target}"` : 'null'}${target ? ',"reason":"stage"' : ''},"status":${status},"ms":${ms},"msg":"request completed"}`
  );
}

/** nginx combined with $request_time appended; time_local in +0100 to check the offset. */
function combinedLine(at: number, method: string, url: string, status: number, seconds?: number): string {
  const local = new Date(at + 3_600_000);
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const p = (n: number) => String(n).padStart(2, '0');
  const time = `${p(local.getUTCDate())}/${months[local.getUTCMonth()]}/${local.getUTCFullYear()}:${p(local.getUTCHours())}:${p(local.getUTCMinutes())}:${p(local.getUTCSeconds())} +0100`;
  const tail = seconds === undefined ? '' : ` ${seconds.toFixed(3)}`;
  return `198.51.100.4 - - [${time}] "${method} ${url} HTTP/1.1" ${status} 1234 "https://shop.example/" "Mozilla/5.0 (X11; Linux x86_64) \\"quoted\\""${tail}`;
}

function parse(lines: string[]): AccessRecord[] {
  return lines.map((line) => {
    const r = line.startsWith('{') ? parseProxyLine(line) : parseCombinedLine(line);
    if (typeof r !== 'object') throw new Error(`not parsed: ${String(r)}: ${line}`);
    return r;
  });
}

t.test('log lines of both formats parse to the same record shape', async (t) => {
  const at = T0 + 5 * DAY + 1234;
  t.same(parseProxyLine(proxyLine(at, 'GET', '/api/rooms/42?x=1', 'rooms-get', 'rooms', 200, 3.25)), {
    at,
    method: 'GET',
    path: '/api/rooms/42',
    query: 'x=1',
    status: 200,
    ms: 3.25,
    target: 'rooms',
    route: 'rooms-get',
    source: 'proxy',
  });
  t.same(parseCombinedLine(combinedLine(T0 + 5 * DAY, 'post', '/login.php?next=/', 302, 0.25)), {
    at: T0 + 5 * DAY,
    method: 'POST',
    path: '/login.php',
    query: 'next=/',
    status: 302,
    ms: 250,
    source: 'combined',
  });
  t.same(parseProxyLine('{"level":30,"time":1700000000000,"method":"GET","url":"/","route":null,"target":null,"status":503,"ms":0.1,"msg":"request completed"}'), {
    at: 1_700_000_000_000,
    method: 'GET',
    path: '/',
    status: 503,
    ms: 0.1,
    source: 'proxy',
  }, 'epoch-ms time (pino default); no target: the proxy answered itself');
  t.equal(parseProxyLine('{"level":30,"time":"2026-11-25T10:00:00.000Z","msg":"proxy listening"}'), OTHER_LINE, 'other log lines are not requests');
  t.equal(parseProxyLine('{"method":"GET","url":"/","status":200,"msg":"request completed"}'), 'no time (epoch ms or ISO 8601)');
  t.equal(parseProxyLine('{"level":30'), 'not JSON');
  const apache = parseCombinedLine('10.0.0.1 - alice [05/Jan/2026:23:30:00 -0500] "GET /a HTTP/1.0" 200 - "-" "-" 1500');
  t.match(apache, { at: Date.parse('2026-01-06T04:30:00.000Z'), ms: 1.5 }, 'Apache %D is microseconds; the offset is applied');
  t.notOk('ms' in (parseCombinedLine('10.0.0.1 - - [05/Jan/2026:23:30:00 +0000] "GET /a HTTP/1.1" 200 5 "-" "-"') as object), 'no latency field: no ms');
  t.match(parseCombinedLine('10.0.0.1 - - [05/Jan/2026:23:30:00 +0000] "GET /a HTTP/1.1" 200 5'), { path: '/a' }, 'common log format too');
  t.equal(parseCombinedLine('10.0.0.1 - - [05/Jan/2026:23:30:00 +0000] "-" 400 0 "-" "-"'), 'no request line ("-")');
  t.equal(parseCombinedLine('10.0.0.1 - - [99/Foo/2026:23:30:00 +0000] "GET / HTTP/1.1" 200 0 "-" "-"'), 'time [99/Foo/2026:23:30:00 +0000] is not like [25/Nov/2026:10:00:00 +0000]');
});

t.test('endpoints: ids collapsed, counted, 5xx share, latency percentiles, sorted by requests', async (t) => {
  const lines = [
    combinedLine(T0, 'GET', '/api/rooms/1', 200, 0.01),
    combinedLine(T0 + 1000, 'GET', '/api/rooms/2?expand=owner', 500, 0.02),
    combinedLine(T0 + 2000, 'GET', '/api/rooms/3', 200, 0.03),
    combinedLine(T0 + 3000, 'GET', '/api/rooms/4', 503, 0.04),
    combinedLine(T0 + 4000, 'GET', '/api/rooms', 200, 0.1),
    combinedLine(T0 + 5000, 'POST', '/api/rooms/4', 200, 0.2),
    combinedLine(T0 + 6000, 'GET', '/users/u123/orders/2024-01-05', 200),
    combinedLine(T0 + 7000, 'GET', '/users/u9/orders/2025-02-01', 200),
  ];
  const inv = buildInventory(parse(lines), { routes: routes(), idleDays: 14 });
  t.equal(inv.total, 8);
  t.same(
    inv.endpoints.map((e) => [`${e.method} ${e.pattern}`, e.requests]),
    [
      ['GET /api/rooms/:id', 4],
      ['GET /users/:id/orders/:id', 2],
      ['GET /api/rooms', 1],
      ['POST /api/rooms/:id', 1],
    ],
  );
  const rooms = inv.endpoints[0];
  t.equal(rooms.errorRate, 0.5, '500 and 503 of four');
  t.equal(rooms.p50Ms, 20);
  t.equal(rooms.p99Ms, 40);
  t.same(rooms.servedBy, { legacy: 4 }, 'an nginx log only sees legacy');
  t.equal(inv.endpoints[1].p50Ms, null, 'no latency field: no percentiles');
  t.equal(inv.endpoints[1].p99Ms, null);
});

t.test('p99 of a hundred latencies, and a bounded sample of many', async (t) => {
  const records: AccessRecord[] = [];
  for (let i = 1; i <= 100; i++) records.push({ at: T0 + i, method: 'GET', path: `/api/rooms/${i}`, status: 200, ms: 101 - i, source: 'proxy', target: 'legacy' });
  const exact = buildInventory(records, { routes: [], idleDays: 14 });
  t.equal(exact.endpoints[0].p50Ms, 50);
  t.equal(exact.endpoints[0].p99Ms, 99);

  // 100 000 latencies, uniform 1..1000 ms, through a sample of 500 (seeded): within 5 % of the truth
  let seed = 42;
  const random = () => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
  const many: AccessRecord[] = [];
  for (let i = 0; i < 100_000; i++) many.push({ at: T0 + i, method: 'GET', path: '/search', status: 200, ms: 1 + Math.floor(random() * 1000), source: 'proxy', target: 'legacy' });
  const sampled = buildInventory(many, { routes: [], idleDays: 14, sampleSize: 500, random });
  t.ok(Math.abs(sampled.endpoints[0].p50Ms! - 500) <= 50, `p50 ${sampled.endpoints[0].p50Ms} ≈ 500`);
  t.ok(Math.abs(sampled.endpoints[0].p99Ms! - 990) <= 50, `p99 ${sampled.endpoints[0].p99Ms} ≈ 990`);

  t.equal(percentile([], 0.5), null);
  t.equal(percentile([7], 0.99), 7);
});

t.test('coverage: a route pattern covers the concrete paths of an endpoint, with its stage', async (t) => {
  const inv = buildInventory(
    parse([
      combinedLine(T0, 'GET', '/api/rooms/42', 200),
      combinedLine(T0, 'GET', '/api/rooms', 200),
      combinedLine(T0, 'POST', '/api/rooms/42', 200),
      combinedLine(T0, 'GET', '/files/1', 200),
      combinedLine(T0, 'GET', '/files/2', 200),
      combinedLine(T0, 'GET', '/files/3', 200),
      combinedLine(T0, 'GET', '/index.php', 200),
    ]),
    { routes: routes(), idleDays: 14 },
  );
  const by = (key: string) => inv.endpoints.find((e) => `${e.method} ${e.pattern}` === key)!;
  t.same(by('GET /api/rooms/:id').route, { name: 'rooms-get', stage: 'cutover' });
  t.same(by('GET /api/rooms').route, { name: 'rooms-list', stage: 'shadow' });
  t.equal(by('POST /api/rooms/:id').route, undefined, 'the route is GET only');
  t.same(by('GET /files/:id').route, { name: 'file-one', stage: 'canary' }, 'a route for one concrete path');
  t.equal(by('GET /files/:id').coveredRequests, 1, '… covers one of the three requests');
  t.equal(by('GET /index.php').route, undefined);
  t.equal(by('GET /index.php').coveredRequests, 0);
});

t.test('strangled share: proxy log by target, nginx log by cutover coverage', async (t) => {
  const proxyOnly = buildInventory(
    parse([
      proxyLine(T0, 'GET', '/api/rooms/1', 'rooms-get', 'rooms', 200, 2),
      proxyLine(T0 + 1, 'GET', '/api/rooms/2', 'rooms-get', 'rooms', 200, 2),
      proxyLine(T0 + 2, 'GET', '/api/rooms/3', 'rooms-get', 'legacy', 200, 2),
      proxyLine(T0 + 3, 'GET', '/api/rooms', 'rooms-list', 'legacy', 200, 2),
      proxyLine(T0 + 4, 'GET', '/api/rooms', 'rooms-list', null, 503, 0.1),
    ]),
    { routes: routes(), idleDays: 14 },
  );
  t.equal(proxyOnly.strangled, 2);
  t.equal(proxyOnly.strangledShare, 0.4, 'two of five: a service answered');
  t.same(proxyOnly.endpoints.find((e) => e.pattern === '/api/rooms/:id')!.servedBy, { rooms: 2, legacy: 1 });
  t.same(proxyOnly.endpoints.find((e) => e.pattern === '/api/rooms')!.servedBy, { legacy: 1, [ANSWERED_BY_PROXY]: 1 });

  const nginxOnly = buildInventory(
    parse([
      combinedLine(T0, 'GET', '/api/rooms/1', 200),
      combinedLine(T0, 'GET', '/api/bookings/9', 200),
      combinedLine(T0, 'GET', '/api/rooms', 200),
      combinedLine(T0, 'GET', '/files/1', 200),
    ]),
    { routes: routes(), idleDays: 14 },
  );
  t.equal(nginxOnly.strangledShare, 0.5, 'cutover routes cover two of four; shadow and canary do not count');

  const mixed = buildInventory([...parse([proxyLine(T0, 'GET', '/api/rooms/1', 'rooms-get', 'rooms', 200, 2)]), ...parse([combinedLine(T0, 'GET', '/index.php', 200)])], {
    routes: routes(),
    idleDays: 14,
  });
  t.equal(mixed.strangledShare, 0.5);
  t.equal(buildInventory([], { routes: routes(), idleDays: 14 }).strangledShare, 0, 'no requests: 0, not NaN');
});

t.test('idle legacy routes: cutover routes whose requests last reached legacy idle-days before the logs end', async (t) => {
  const end = T0 + 30 * DAY;
  const lines = [
    // bookings-get: legacy answered 20 days before the end, the service since
    proxyLine(T0 + 10 * DAY, 'GET', '/api/bookings/1', 'bookings-get', 'legacy', 200, 5),
    proxyLine(T0 + 25 * DAY, 'GET', '/api/bookings/2', 'bookings-get', 'bookings', 200, 5),
    // rooms-get: a breaker fallback reached legacy 3 days before the end
    proxyLine(T0 + 2 * DAY, 'GET', '/api/rooms/1', 'rooms-get', 'rooms', 200, 5),
    proxyLine(T0 + 27 * DAY, 'GET', '/api/rooms/1', 'rooms-get', 'legacy', 200, 5),
    // rooms-list is in shadow: never a candidate, however old
    proxyLine(T0, 'GET', '/api/rooms', 'rooms-list', 'legacy', 200, 5),
    proxyLine(end, 'GET', '/', null, 'legacy', 200, 5),
  ];
  // invoices-get: no request at all in 30 days of logs
  const inv = buildInventory(parse(lines), { routes: routes(), idleDays: 14 });
  t.same(inv.span, { from: new Date(T0).toISOString(), to: new Date(end).toISOString() });
  t.same(inv.idleLegacyRoutes, [
    { route: 'bookings-get', stage: 'cutover', lastLegacyAt: new Date(T0 + 10 * DAY).toISOString(), requests: 2 },
    { route: 'invoices-get', stage: 'cutover', requests: 0 },
  ]);

  const longer = buildInventory(parse(lines), { routes: routes(), idleDays: 21 });
  t.same(
    longer.idleLegacyRoutes.map((r) => r.route),
    ['invoices-get'],
    '20 days are not 21; no request in 30 days is',
  );

  const short = buildInventory(parse([proxyLine(end - DAY, 'GET', '/', null, 'legacy', 200, 1), proxyLine(end, 'GET', '/', null, 'legacy', 200, 1)]), { routes: routes(), idleDays: 14 });
  t.same(short.idleLegacyRoutes, [], 'one day of logs cannot show fourteen idle days');

  const nginx = buildInventory(parse([combinedLine(T0, 'GET', '/api/rooms/5', 200), combinedLine(T0 + 20 * DAY, 'GET', '/', 200), combinedLine(T0 + 20 * DAY, 'GET', '/api/bookings/5', 200)]), {
    routes: routes(),
    idleDays: 14,
  });
  t.same(
    nginx.idleLegacyRoutes.map((r) => [r.route, r.lastLegacyAt]),
    [
      ['invoices-get', undefined],
      ['rooms-get', new Date(T0).toISOString()],
    ],
    'in an nginx log every request reached legacy',
  );
});

t.test('the malformed lines handed in are passed through', async (t) => {
  const malformed = { count: 3, examples: [{ file: 'a.log', line: 2, reason: 'not JSON' }] };
  t.same(buildInventory([], { routes: [], idleDays: 14 }, malformed).malformed, malformed);
  t.same(buildInventory([], { routes: [], idleDays: 14 }).malformed, { count: 0, examples: [] });
});
