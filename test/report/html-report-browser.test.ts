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
}
