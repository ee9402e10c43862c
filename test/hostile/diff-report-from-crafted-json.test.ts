import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import t, { type Test } from 'tap';
import { buildComparator, compareCandidateError } from '../../proxy/comparison/compare.ts';
import { createNoiseLearner } from '../../proxy/comparison/noise.ts';
import { buildParityReport } from '../../proxy/parity/build-parity-report.ts';
import type { ComparisonRecord, ParityReport, StoredResponse } from '../../proxy/parity/records.ts';
import { renderHtmlReport } from '../../proxy/report/html-report.ts';
import { runCli } from '../helpers/cli.ts';

/**
 * Regression: `strangler diff report --from <file.json>` put the numbers of a crafted JSON
 * (counts, parity, status, timings) into the HTML unescaped, and four <script> ran in the
 * browser. The file's shape is checked now, and everything rendered is escaped, numbers too.
 */

const CHROMIUM = '/usr/bin/chromium';
const SCRIPT = '<script>window.__ran = (window.__ran || 0) + 1</script>';

function stored(body: unknown): StoredResponse {
  return { status: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), bodyEncoding: 'utf8', truncated: false };
}

/** A report as strangler builds it: a mismatch found by the real comparator, a candidate error, learned noise. */
function genuineReport(): ParityReport {
  const legacy = stored({ id: 42, name: 'Quiet corner' });
  const service = stored({ id: 42, name: 'Quiet Corner' });
  const result = buildComparator()(
    { status: 200, headers: legacy.headers, body: Buffer.from(legacy.body) },
    { status: 200, headers: service.headers, body: Buffer.from(service.body) },
  );
  const record: ComparisonRecord = {
    at: '2025-03-01T10:00:00.000Z',
    route: 'rooms-get',
    source: 'replay',
    outcome: result.outcome,
    primary: 'legacy',
    service: 'rooms',
    request: { method: 'GET', url: '/api/rooms/42', headers: {} },
    legacy,
    serviceResponse: service,
    differences: result.differences,
    noise: result.noise,
    legacyMs: 41,
    serviceMs: 12,
  };
  const refused = compareCandidateError(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }));
  const failed: ComparisonRecord = { ...record, outcome: refused.outcome, differences: [], noise: [], reason: refused.reason, serviceResponse: undefined, serviceMs: undefined };
  const learner = createNoiseLearner();
  const twice = (at: string) => ({ status: 200, headers: legacy.headers, body: Buffer.from(JSON.stringify({ id: 42, generated_at: at })) });
  learner.observe('rooms-get', twice('2025-03-01T10:00:00Z'), twice('2025-03-01T10:00:01Z'));
  return buildParityReport({
    counts: [
      { route: 'rooms-get', outcome: 'match', n: 9 },
      { route: 'rooms-get', outcome: 'mismatch', n: 1 },
      { route: 'rooms-get', outcome: 'candidate-error', n: 1 },
      { route: 'rooms-get', outcome: 'skipped', n: 2 },
    ],
    failures: [record, failed],
    noise: new Map([['rooms-get', learner.report('rooms-get').entries]]),
    window: { from: Date.parse('2025-03-01T00:00:00Z'), to: Date.parse('2025-03-01T12:00:00Z') },
    source: 'replay',
  });
}

/** The genuine report with a script where the renderer used to trust a number. */
function craftedReport(): any {
  const report: any = JSON.parse(JSON.stringify(genuineReport()));
  report.routes[0].matches = SCRIPT;
  report.routes[0].parity = SCRIPT;
  report.routes[0].topDifferences[0].count = SCRIPT;
  report.examples[0].legacy.status = SCRIPT;
  report.examples[0].legacyMs = SCRIPT;
  return report;
}

async function diffFrom(t: Test, report: unknown) {
  const dir = t.testdir();
  const file = path.join(dir, 'crafted.json');
  const html = path.join(dir, 'report.html');
  await writeFile(file, typeof report === 'string' ? report : JSON.stringify(report));
  const res = await runCli(['diff', 'report', '--from', file, '--html', html, '--junit', path.join(dir, 'report.xml')]);
  return { ...res, file, html };
}

t.test('a report strangler wrote is still accepted', async (t) => {
  const res = await diffFrom(t, genuineReport());
  t.equal(res.code, 0, res.stderr);
  t.match(res.stdout, /1 route\(s\), 1 below 99\.5 %/);
  t.equal(res.stderr, '');
  const page = await readFile(res.html, 'utf8');
  t.match(page, /class="node diff" data-path="\$\.name"/);
  t.match(page, /ECONNREFUSED/, 'the candidate error is listed');
  t.match(page, /\$\.generated_at/, 'and the learned noise');
});

t.test('scripts in numeric fields: exit 1 naming the file and the first bad field, no stack trace, nothing written', async (t) => {
  const res = await diffFrom(t, craftedReport());
  t.equal(res.code, 1);
  t.equal(res.stdout, '');
  t.equal(
    res.stderr.trim(),
    `strangler diff: ${res.file} is not a parity report written by strangler: routes[0].matches must be a whole number ≥ 0, not a string (and 4 more problems). ` +
      'Pass the JSON report strangler replay wrote (its --report), or leave out --from to build the report from the comparison store; nothing was written\n(STRANGLER_ERR_REPORT_INVALID)',
  );
  t.notMatch(res.stderr, /^\s+at /m, 'no stack trace');
  t.notOk(existsSync(res.html), 'no HTML written');
});

t.test('every kind of bad field is named by its path', async (t) => {
  const cases: Array<[string, (r: any) => void, string]> = [
    ['status', (r) => (r.examples[0].legacy.status = SCRIPT), 'examples[0].legacy.status must be an HTTP status from 100 to 999, not a string'],
    ['timing', (r) => (r.examples[0].serviceMs = SCRIPT), 'examples[0].serviceMs must be a number of milliseconds ≥ 0, not a string'],
    ['parity', (r) => (r.routes[0].parity = SCRIPT), 'routes[0].parity must be null or a percentage from 0 to 100, not a string'],
    ['header', (r) => (r.examples[0].legacy.headers['x-\u009b31m'] = 7), 'examples[0].legacy.headers["x-\\u009b31m"] must be a string, not a number'],
    ['missing', (r) => delete r.routes[0].compared, 'routes[0].compared is missing: it must be a whole number ≥ 0'],
    ['enum', (r) => (r.source = SCRIPT), 'source must be "shadow", "replay" or "all", not a string'],
    ['not a report', (r) => Object.assign(r, { routes: {} }), 'routes must be an array, not an object'],
  ];
  for (const [name, spoil, problem] of cases) {
    const report = JSON.parse(JSON.stringify(genuineReport()));
    spoil(report);
    const res = await diffFrom(t, report);
    t.equal(res.code, 1, name);
    t.match(res.stderr, `is not a parity report written by strangler: ${problem}`, name);
    t.notMatch(res.stderr, /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/, `${name}: nothing from the file reaches the terminal raw`);
  }

  const notJson = await diffFrom(t, `{"routes": [${SCRIPT}]}`);
  t.equal(notJson.code, 1);
  t.match(notJson.stderr, /is not a parity report written by strangler: it is not JSON(?: \(syntax error at character \d+\))?\. Pass/);
  t.notMatch(notJson.stderr, /<script|^\s+at /m, 'the file is not echoed, and no stack trace');

  const missing = await runCli(['diff', 'report', '--from', path.join(t.testdir(), 'nope.json')]);
  t.equal(missing.code, 1);
  t.match(missing.stderr, /report file .*nope\.json cannot be read \(ENOENT\)[^\n]*\n\(STRANGLER_ERR_REPORT_UNREADABLE\)/);
});

t.test('the renderer escapes every value, numbers included, whatever it is handed', async (t) => {
  const page = renderHtmlReport(craftedReport() as ParityReport);
  t.notMatch(page, /<script/i, 'no raw <script anywhere');
  t.match(page, /&lt;script&gt;window\.__ran/, 'the text is shown, escaped');
});

if (!existsSync(CHROMIUM)) {
  t.test('the crafted report in a real browser', { skip: `CHROMIUM NOT INSTALLED at ${CHROMIUM}: apt-get install -y chromium` }, async () => {});
} else {
  t.test('in a real browser the crafted report runs no script', async (t) => {
    const { chromium } = await import('playwright-core');
    const file = path.join(t.testdir(), 'report.html');
    await writeFile(file, renderHtmlReport(craftedReport() as ParityReport));
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
    t.teardown(() => browser.close());
    const page = await browser.newPage();
    await page.goto(pathToFileURL(file).href);
    t.equal(await page.evaluate(() => (window as any).__ran ?? 0), 0, 'no script ran');
    t.equal(await page.locator('script').count(), 0, 'no script element in the page');
    t.match(await page.locator('table.routes').innerText(), '<script>window.__ran', 'the values read as text');
  });
}
