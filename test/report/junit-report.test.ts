import t from 'tap';
import type { ParityReport, RouteParity } from '../../proxy/parity/records.ts';
import { renderJunitReport } from '../../proxy/report/junit-report.ts';

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

function report(routes: RouteParity[]): ParityReport {
  return {
    generatedAt: '2025-03-01T12:00:00.000Z',
    window: { from: '2025-03-01T00:00:00.000Z', to: '2025-03-01T12:00:00.000Z' },
    source: 'all',
    routes,
    examples: [],
  };
}

/** The <testcase> element of a route, whole. */
function testcase(xml: string, name: string): string {
  const start = xml.indexOf(`<testcase classname="parity" name="${name}"`);
  if (start < 0) return '';
  const openEnd = xml.indexOf('>', start);
  const end = xml[openEnd - 1] === '/' ? openEnd + 1 : xml.indexOf('</testcase>', start) + '</testcase>'.length;
  return xml.slice(start, end);
}

const rooms = route(
  'GET /api/rooms',
  { matches: 195, mismatches: 3, candidateErrors: 2 },
  {
    topDifferences: [
      { pattern: '$.data[*].name', count: 3, example: { at: '2025-03-01T10:00:00.000Z', request: 'GET /api/rooms?page=1', path: '$.data[0].name', legacy: 'Ada', service: 'Grace' } },
    ],
    topErrors: [{ reason: 'UND_ERR_CONNECT_TIMEOUT: connect timeout', count: 2 }],
  },
);

t.test('a route below the threshold fails, naming its parity, its differing paths and its errors', async (t) => {
  const xml = renderJunitReport(report([rooms]), { minParity: 99.5 });
  const tc = testcase(xml, 'GET /api/rooms');
  t.match(tc, '<failure message="parity 97.50 % below 99.5 %" type="parity">');
  t.match(tc, '195 of 200 comparisons matched: 3 mismatches, 2 candidate errors');
  t.match(tc, '3 × $.data[*].name  e.g. GET /api/rooms?page=1: legacy &quot;Ada&quot;, service &quot;Grace&quot;');
  t.match(tc, '2 × UND_ERR_CONNECT_TIMEOUT: connect timeout');
  t.match(xml, /<testsuite name="strangler parity" tests="1" failures="1" errors="0" skipped="0"/);
});

t.test('a route at or above the threshold passes', async (t) => {
  const exactly = route('GET /api/rooms/:id', { matches: 199, mismatches: 1 });
  const above = route('GET /api/users', { matches: 1000 });
  const xml = renderJunitReport(report([exactly, above]), { minParity: 99.5 });
  t.equal(testcase(xml, 'GET /api/rooms/:id'), '<testcase classname="parity" name="GET /api/rooms/:id"/>');
  t.equal(testcase(xml, 'GET /api/users'), '<testcase classname="parity" name="GET /api/users"/>');
  t.notMatch(xml, '<failure');
  t.match(xml, /<testsuite name="strangler parity" tests="2" failures="0" errors="0" skipped="0"/);
});

t.test('a route with nothing compared is skipped, not failed and not passed', async (t) => {
  const xml = renderJunitReport(report([route('POST /api/bookings', { matches: 0, skipped: 12 }), rooms]), { minParity: 99.5 });
  t.match(testcase(xml, 'POST /api/bookings'), /<testcase classname="parity" name="POST \/api\/bookings">\s*<skipped message="no comparisons"\/>\s*<\/testcase>/);
  t.match(xml, /<testsuite name="strangler parity" tests="2" failures="1" errors="0" skipped="1"/);
});

t.test('a parity just below the threshold is never shown rounded up to it', async (t) => {
  const xml = renderJunitReport(report([route('GET /edge', { matches: 0 }, { matches: 9999, mismatches: 51, compared: 10050, parity: 99.4925 })]), { minParity: 99.5 });
  t.match(xml, '<failure message="parity 99.49 % below 99.5 %"');
});

t.test('route names, reasons and values are XML-escaped, and characters XML forbids are replaced', async (t) => {
  const nasty = route(
    'GET /a&b<c>"d\'',
    { matches: 0, candidateErrors: 1 },
    { topErrors: [{ reason: 'bad </failure><testcase name="x"> \u0000\u001b end', count: 1 }] },
  );
  const xml = renderJunitReport(report([nasty]), { minParity: 99.5 });
  t.match(xml, '<testcase classname="parity" name="GET /a&amp;b&lt;c&gt;&quot;d&apos;">');
  t.match(xml, '1 × bad &lt;/failure&gt;&lt;testcase name=&quot;x&quot;&gt; \uFFFD\uFFFD end');
  t.notMatch(xml, /[\u0000-\u0008\u000b\u000c\u000e-\u001f]/);
  t.equal(xml.match(/<testcase /g)?.length, 1);
  t.equal(xml.match(/<\/failure>/g)?.length, 1);
});

t.test('the document is a testsuites root holding the one suite, with the window as properties', async (t) => {
  const xml = renderJunitReport(report([]), { minParity: 99.5 });
  t.match(xml, /^<\?xml version="1\.0" encoding="UTF-8"\?>\n<testsuites name="strangler parity" tests="0" failures="0" errors="0" skipped="0">/);
  t.match(xml, '<testsuite name="strangler parity" tests="0" failures="0" errors="0" skipped="0" timestamp="2025-03-01T12:00:00.000Z">');
  t.match(xml, '<property name="window.from" value="2025-03-01T00:00:00.000Z"/>');
  t.match(xml, '<property name="source" value="all"/>');
  t.match(xml, /<\/testsuite>\n<\/testsuites>\n$/);
});
