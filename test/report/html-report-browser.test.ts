import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import t from 'tap';
import type { ParityReport, StoredResponse } from '../../proxy/parity/records.ts';
import { renderHtmlReport } from '../../proxy/report/html-report.ts';

/** The Debian package; playwright-core never downloads a browser of its own. */
const CHROMIUM = '/usr/bin/chromium';
const SCREENSHOT = fileURLToPath(new URL('../artifacts/diff-report.png', import.meta.url));

function json(body: unknown): StoredResponse {
  return { status: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), bodyEncoding: 'utf8', truncated: false };
}

const report: ParityReport = {
  generatedAt: '2025-03-01T12:00:00.000Z',
  window: { from: '2025-03-01T00:00:00.000Z', to: '2025-03-01T12:00:00.000Z' },
  source: 'shadow',
  routes: [
    {
      route: 'GET /api/rooms',
      matches: 195,
      mismatches: 5,
      candidateErrors: 0,
      skipped: 0,
      compared: 200,
      parity: 97.5,
      topDifferences: [
        { pattern: '$.data[*].name', count: 5, example: { at: '2025-03-01T10:00:00.000Z', request: 'GET /api/rooms', path: '$.data[0].name', legacy: 'Quiet corner', service: 'Quiet Corner' } },
      ],
      topErrors: [],
      noise: [],
    },
  ],
  examples: [
    {
      at: '2025-03-01T10:00:00.000Z',
      route: 'GET /api/rooms',
      source: 'shadow',
      outcome: 'mismatch',
      primary: 'legacy',
      service: 'rooms',
      request: { method: 'GET', url: '/api/rooms', headers: {} },
      legacy: json({ data: [{ id: 42, name: 'Quiet corner', capacity: 8 }], total: 1 }),
      serviceResponse: json({ data: [{ id: 42, name: 'Quiet Corner', capacity: 8 }], total: 1 }),
      differences: [{ path: '$.data[0].name', kind: 'changed', primary: 'Quiet corner', candidate: 'Quiet Corner' }],
      noise: [],
      legacyMs: 41,
      serviceMs: 12,
    },
  ],
};

if (!existsSync(CHROMIUM)) {
  t.test('the report in a real browser', { skip: `CHROMIUM NOT INSTALLED at ${CHROMIUM}: apt-get install -y chromium` }, async () => {});
} else {
  t.test('in a real browser the mismatching node is visible and highlighted on the service side', async (t) => {
    const file = join(t.testdir(), 'report.html');
    await writeFile(file, renderHtmlReport(report));

    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
    t.teardown(() => browser.close());
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await page.goto(pathToFileURL(file).href);

    await t.resolves(page.getByRole('cell', { name: '97.50 %' }).waitFor({ state: 'visible', timeout: 2000 }), 'the route parity is shown');

    const changed = page.locator('.side.service [data-path="$.data[0].name"].diff');
    t.ok(await changed.isVisible(), 'the differing service node is visible');
    t.match(await changed.innerText(), '"Quiet Corner"');
    const background = await changed.evaluate((el) => getComputedStyle(el).backgroundColor);
    const sibling = await page.locator('.side.service [data-path="$.data[0].id"]').evaluate((el) => getComputedStyle(el).backgroundColor);
    t.not(background, sibling, 'it stands out from an equal sibling');
    t.notOk(await page.locator('.side.service [data-path="$.data[0].id"]').evaluate((el) => el.classList.contains('diff')));
    t.ok(await page.locator('.side.legacy [data-path="$.data[0].name"].diff').isVisible(), 'the legacy value it differs from too');

    await mkdir(join(SCREENSHOT, '..'), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    t.ok(existsSync(SCREENSHOT), `screenshot at ${SCREENSHOT}`);
  });

  t.test('long values wrap: the page fits the window; a gzipped answer is shown decoded', async (t) => {
    // an oEmbed answer: one long html string, a long unbroken token, a long Link header
    const token = 'eyJhbGciOiJIUzI1NiJ9'.repeat(40);
    const html = (quote: string) => `<blockquote class="wp-embedded-content" data-secret="k3Y9x"><a href="https://blog.example/2026/12/a-post-with-a-rather-long-slug/">${quote}A post${quote}</a></blockquote>`.repeat(6);
    const legacy: StoredResponse = {
      status: 200,
      headers: { 'content-type': 'application/json; charset=UTF-8', 'content-encoding': 'gzip', link: `<https://blog.example/wp-json/oembed/1.0/embed?url=${'https%3A%2F%2Fblog.example%2F'.repeat(12)}>; rel="alternate"` },
      body: JSON.stringify({ version: '1.0', html: html('&#8220;'), token }),
      bodyEncoding: 'utf8',
      truncated: false,
      decodedFrom: 'gzip',
    };
    const service: StoredResponse = { ...legacy, headers: { 'content-type': 'application/json; charset=UTF-8' }, body: JSON.stringify({ version: '1.0', html: html('&quot;'), token }), decodedFrom: undefined };
    const wide: ParityReport = {
      ...report,
      examples: [
        {
          ...report.examples[0],
          request: { method: 'GET', url: `/wp-json/oembed/1.0/embed?url=${'https%3A%2F%2Fblog.example%2F'.repeat(12)}`, headers: {} },
          legacy,
          serviceResponse: service,
          differences: [{ path: '$.html', kind: 'changed', primary: html('&#8220;').slice(0, 200) + '…', candidate: html('&quot;').slice(0, 200) + '…' }],
        },
      ],
    };
    const file = join(t.testdir(), 'wide.html');
    await writeFile(file, renderHtmlReport(wide));
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
    t.teardown(() => browser.close());
    const page = await browser.newPage({ viewport: { width: 1024, height: 800 } });
    await page.goto(pathToFileURL(file).href);

    const { scrollWidth, innerWidth } = await page.evaluate(() => ({ scrollWidth: document.documentElement.scrollWidth, innerWidth: window.innerWidth }));
    t.ok(scrollWidth <= innerWidth, `no horizontal scrolling: the page is ${scrollWidth} px wide in a ${innerWidth} px window`);
    for (const selector of ['.differences td.value', '.side.legacy [data-path="$.token"]', '.side.legacy .headers td', '.example h3']) {
      const box = await page.locator(selector).first().boundingBox();
      t.ok(box && box.x + box.width <= innerWidth, `${selector} ends inside the window`);
    }
    t.ok(await page.locator('.side.legacy .note.decoded', { hasText: 'decoded from gzip' }).isVisible(), 'the legacy body says it was decoded from gzip');
    t.match(await page.locator('.side.legacy [data-path="$.html"]').innerText(), '&#8220;A post', 'and shows the decoded JSON, not gzip bytes');
    t.equal(await page.locator('.side.service .note.decoded').count(), 0, 'the identity answer has no such note');
    await page.screenshot({ path: SCREENSHOT.replace('.png', '-wide.png'), fullPage: true });
  });
}
