import t from 'tap';
import { buildComparator } from '../../proxy/comparison/compare.ts';
import type { ComparisonRecord, ParityReport, RouteParity, StoredResponse } from '../../proxy/parity/records.ts';
import { renderHtmlReport } from '../../proxy/report/html-report.ts';

function route(name: string, counts: { matches: number; mismatches?: number; candidateErrors?: number; skipped?: number }, extra: Partial<RouteParity> = {}): RouteParity {
  const mismatches = counts.mismatches ?? 0;
  const candidateErrors = counts.candidateErrors ?? 0;
  const compared = counts.matches + mismatches + candidateErrors;
  return {
    route: name,
    matches: counts.matches,
    mismatches,
    candidateErrors,
    skipped: counts.skipped ?? 0,
    compared,
    parity: compared ? (counts.matches / compared) * 100 : null,
    topDifferences: [],
    topErrors: [],
    noise: [],
    ...extra,
  };
}

function json(body: unknown, init: Partial<StoredResponse> = {}): StoredResponse {
  return {
    status: 200,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    bodyEncoding: 'utf8',
    truncated: false,
    ...init,
  };
}

function example(legacy: StoredResponse | undefined, service: StoredResponse | undefined, differences: ComparisonRecord['differences'], extra: Partial<ComparisonRecord> = {}): ComparisonRecord {
  return {
    at: '2025-03-01T10:00:00.000Z',
    route: 'GET /api/rooms',
    source: 'shadow',
    outcome: 'mismatch',
    primary: 'legacy',
    service: 'rooms',
    request: { method: 'GET', url: '/api/rooms?page=1', headers: {} },
    legacy,
    serviceResponse: service,
    differences,
    noise: [],
    ...extra,
  };
}

function report(routes: RouteParity[], examples: ComparisonRecord[] = []): ParityReport {
  return {
    generatedAt: '2025-03-01T12:00:00.000Z',
    window: { from: '2025-03-01T00:00:00.000Z', to: '2025-03-01T12:00:00.000Z' },
    source: 'shadow',
    routes,
    examples,
  };
}

/** The markup of one side ('legacy' or 'service') of the nth example. */
function side(html: string, which: 'legacy' | 'service', n = 0): string {
  const example = html.split('<section class="example"')[n + 1].split('</section>')[0];
  const legacyAt = example.indexOf('<div class="side legacy">');
  const serviceAt = example.indexOf('<div class="side service">');
  return which === 'legacy' ? example.slice(legacyAt, serviceAt) : example.slice(serviceAt);
}

/** The classes of the element carrying data-path="path", or undefined when there is none. */
function classesAt(fragment: string, path: string): string[] | undefined {
  const attribute = `data-path="${path.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/'/g, '&#39;')}"`;
  const at = fragment.indexOf(attribute);
  if (at < 0) return undefined;
  const tagStart = fragment.lastIndexOf('<', at);
  const match = /class="([^"]*)"/.exec(fragment.slice(tagStart, at));
  return match ? match[1].split(' ').filter(Boolean) : [];
}

t.test('the route table shows each route parity with two decimals, coloured by threshold', async (t) => {
  const html = renderHtmlReport(
    report([
      route('GET /api/rooms', { matches: 195, mismatches: 3, candidateErrors: 2, skipped: 4 }),
      route('GET /api/rooms/:id', { matches: 1000 }),
      route('POST /api/bookings', { matches: 0, skipped: 7 }),
      route('GET /api/users', { matches: 80, mismatches: 20 }),
      route('GET /api/edge', { matches: 0 }, { compared: 1000, matches: 995, mismatches: 5, parity: 99.4999 }),
    ]),
  );
  const row = (name: string) => new RegExp(`<tr data-route="${name.replace(/[/:]/g, '\\$&')}">.*?</tr>`).exec(html)?.[0] ?? '';

  t.match(row('GET /api/rooms'), /<td class="num">200<\/td><td class="num">195<\/td><td class="num">3<\/td><td class="num">2<\/td><td class="num">4<\/td>/);
  t.match(row('GET /api/rooms'), /parity-warn">97\.50 %</);
  t.match(row('GET /api/rooms/:id'), /parity-good">100\.00 %</);
  t.match(row('POST /api/bookings'), /parity-none">—</, 'nothing compared: no parity, not 0 %');
  t.match(row('GET /api/users'), /parity-bad">80\.00 %</);
  t.match(row('GET /api/edge'), /parity-warn">99\.49 %</, 'just below the threshold never rounds up to it');
  t.match(html, /generated <time>2025-03-01T12:00:00\.000Z<\/time> · window <time>2025-03-01T00:00:00\.000Z<\/time> – <time>2025-03-01T12:00:00\.000Z<\/time> · source shadow/);
});

t.test('each route lists its top differing paths, candidate-error reasons and learned noise', async (t) => {
  const html = renderHtmlReport(
    report([
      route(
        'GET /api/rooms',
        { matches: 90, mismatches: 8, candidateErrors: 2 },
        {
          topDifferences: [
            {
              pattern: '$.data[*].name',
              count: 8,
              example: { at: '2025-03-01T10:00:00.000Z', request: 'GET /api/rooms?page=1', path: '$.data[0].name', legacy: 'Ada', service: 'Grace' },
            },
          ],
          topErrors: [{ reason: 'the candidate answered 500 where the primary answered 200', count: 2 }],
          noise: [{ pattern: '$.meta.generated_at', kind: 'value', count: 40, example: { path: '$.meta.generated_at', first: 'a', second: 'b' }, suggestion: "ignore: ['$.meta.generated_at']" }],
        },
      ),
    ]),
  );
  t.match(html, /<td><code>\$\.data\[\*\]\.name<\/code><\/td><td class="num">8<\/td><td><code>GET \/api\/rooms\?page=1<\/code>/);
  t.match(html, /<td class="value">&quot;Ada&quot;<\/td><td class="value">&quot;Grace&quot;<\/td>/);
  t.match(html, /<td>the candidate answered 500 where the primary answered 200<\/td><td class="num">2<\/td>/);
  t.match(html, /<td><code>\$\.meta\.generated_at<\/code><\/td><td>value<\/td><td class="num">40<\/td><td><code>ignore: \[&#39;\$\.meta\.generated_at&#39;\]<\/code><\/td>/);
});

t.test('a changed value is highlighted on both sides, a missing key on legacy only, an added key on the service only', async (t) => {
  const html = renderHtmlReport(
    report(
      [route('GET /api/rooms', { matches: 0, mismatches: 1 })],
      [
        example(json({ data: [{ id: 1, name: 'Ada', member_count: 3 }], total: 1 }), json({ data: [{ id: 1, name: 'Grace', members_count: 3 }, { id: 2, name: 'Bo' }], total: 1 }), [
          { path: '$.data[0].name', kind: 'changed', primary: 'Ada', candidate: 'Grace' },
          { path: '$.data[0].member_count', kind: 'missing', primary: 3 },
          { path: '$.data[0].members_count', kind: 'added', candidate: 3 },
          { path: '$.data[1]', kind: 'added', candidate: { id: 2, name: 'Bo' } },
        ]),
      ],
    ),
  );
  const legacy = side(html, 'legacy');
  const service = side(html, 'service');

  t.ok(classesAt(service, '$.data[0].name')?.includes('diff'), 'the service value that differs');
  t.ok(classesAt(legacy, '$.data[0].name')?.includes('diff'), 'the legacy value it differs from');
  t.match(service, /<span class="key">&quot;name&quot;<\/span>: <span class="j-str">&quot;Grace&quot;<\/span>/);
  t.notOk(classesAt(service, '$.data[0].id')?.includes('diff'), 'an equal sibling is not highlighted');
  t.notOk(classesAt(service, '$.data[0]')?.includes('diff'), 'nor is the parent of a difference');
  t.notOk(classesAt(service, '$.total')?.includes('diff'));

  t.ok(classesAt(legacy, '$.data[0].member_count')?.includes('diff'), 'a missing key shows on legacy, which has it');
  t.equal(classesAt(service, '$.data[0].member_count'), undefined);
  t.ok(classesAt(service, '$.data[0].members_count')?.includes('diff'), 'an added key shows on the service, which has it');
  t.equal(classesAt(legacy, '$.data[0].members_count'), undefined);

  t.ok(classesAt(service, '$.data[1]')?.includes('diff'));
  t.ok(classesAt(service, '$.data[1].name')?.includes('diff'), 'everything inside an added element is highlighted');

  t.match(html, /<table class="differences">[\s\S]*<td><code>\$\.data\[0\]\.member_count<\/code><\/td><td>missing<\/td><td class="value">3<\/td><td class="value">\(absent\)<\/td>/);
});

t.test('the paths the comparator reports find their nodes, odd keys included', async (t) => {
  const legacyBody = { 'odd key': { "it's": 1 }, list: [{ 'x-y': 'a' }] };
  const serviceBody = { 'odd key': { "it's": 2 }, list: [{ 'x-y': 'b' }] };
  const result = buildComparator()(
    { status: 200, headers: { 'content-type': 'application/json' }, body: Buffer.from(JSON.stringify(legacyBody)) },
    { status: 200, headers: { 'content-type': 'application/json' }, body: Buffer.from(JSON.stringify(serviceBody)) },
  );
  t.equal(result.differences.length, 2);
  const html = renderHtmlReport(report([route('GET /odd', { matches: 0, mismatches: 1 })], [example(json(legacyBody), json(serviceBody), result.differences)]));
  for (const d of result.differences) {
    t.ok(classesAt(side(html, 'service'), d.path)?.includes('diff'), `service node ${d.path}`);
    t.ok(classesAt(side(html, 'legacy'), d.path)?.includes('diff'), `legacy node ${d.path}`);
  }
});

t.test('status and header differences are highlighted on both sides', async (t) => {
  const html = renderHtmlReport(
    report(
      [route('GET /api/rooms', { matches: 0, mismatches: 1 })],
      [
        example(json({ ok: true }), json({ ok: true }, { status: 201, headers: { 'content-type': 'text/plain', 'cache-control': 'no-store' } }), [
          { path: 'status', kind: 'status', primary: 200, candidate: 201 },
          { path: 'headers.content-type', kind: 'header', primary: 'application/json', candidate: 'text/plain' },
          { path: 'headers.cache-control', kind: 'header', candidate: 'no-store' },
        ]),
      ],
    ),
  );
  const legacy = side(html, 'legacy');
  const service = side(html, 'service');
  t.match(legacy, /<div class="status diff" data-path="status">HTTP 200<\/div>/);
  t.match(service, /<div class="status diff" data-path="status">HTTP 201<\/div>/);
  t.ok(classesAt(service, 'headers.content-type')?.includes('diff'));
  t.ok(classesAt(legacy, 'headers.content-type')?.includes('diff'));
  t.ok(classesAt(service, 'headers.cache-control')?.includes('diff'), 'a header only the service sends');
  t.equal(classesAt(legacy, 'headers.cache-control'), undefined);
  t.notOk(classesAt(service, '$.ok')?.includes('diff'));
});

t.test('everything from traffic is escaped: bodies, headers, urls, paths, route names', async (t) => {
  const attack = '<script>alert(1)</script>';
  const html = renderHtmlReport(
    report(
      [
        route(
          `GET /x${attack}`,
          { matches: 0, mismatches: 1 },
          { topDifferences: [{ pattern: `$["${attack}"]`, count: 1, example: { at: attack, request: `GET /?q=${attack}`, path: attack, legacy: attack, service: attack } }] },
        ),
      ],
      [
        example(
          json({ [attack]: attack }, { headers: { 'x-note': attack } }),
          { status: 200, headers: {}, body: `text ${attack} & "quotes"`, bodyEncoding: 'utf8', truncated: false },
          [{ path: 'body', kind: 'body', primary: attack, candidate: attack }],
          { route: `GET /x${attack}`, request: { method: 'GET', url: `/?q=${attack}`, headers: {} }, reason: attack },
        ),
      ],
    ),
  );
  t.notMatch(html, /<script/i, 'no script element anywhere');
  t.match(html, '&lt;script&gt;alert(1)&lt;/script&gt;');
  t.match(side(html, 'service'), '<pre class="body-text">text &lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;quotes&quot;</pre>');
  t.match(side(html, 'legacy'), 'data-path="$[&#39;&lt;script&gt;alert(1)&lt;/script&gt;&#39;]"', 'a data-path attribute cannot be broken out of');
  t.match(html, '<title>Strangler parity report, 2025-03-01T12:00:00.000Z</title>');
});

t.test('bodies that are not JSON: text as is, binary by size, none at all', async (t) => {
  const html = renderHtmlReport(
    report(
      [route('GET /file', { matches: 0, candidateErrors: 1 })],
      [
        example(
          { status: 200, headers: { 'content-type': 'image/png' }, body: Buffer.from([1, 2, 3, 4, 5]).toString('base64'), bodyEncoding: 'base64', truncated: false },
          undefined,
          [],
          { route: 'GET /file', outcome: 'candidate-error', reason: 'UND_ERR_CONNECT_TIMEOUT: connect timeout' },
        ),
        example({ status: 200, headers: {}, body: '{"cut": "in the mid', bodyEncoding: 'utf8', truncated: true }, json({}), [], { route: 'GET /file', outcome: 'skipped' }),
      ],
    ),
  );
  t.match(side(html, 'legacy', 0), 'binary, 5 bytes');
  t.match(side(html, 'service', 0), 'no response');
  t.match(html, 'UND_ERR_CONNECT_TIMEOUT: connect timeout');
  t.match(side(html, 'legacy', 1), /<pre class="body-text">\{&quot;cut&quot;: &quot;in the mid<\/pre><p class="note">body cut at the storage cap<\/p>/);
});

t.test('the page is self-contained: nothing is loaded from elsewhere', async (t) => {
  const html = renderHtmlReport(report([route('GET /a', { matches: 1 })], [example(json({ a: 1 }), json({ a: 1 }), [])]));
  t.notMatch(html, /<link|<script|<img|<iframe|\bsrc=|url\(/i);
  t.match(html, /^<!doctype html>/);
});
