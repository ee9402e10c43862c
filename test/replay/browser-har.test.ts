import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import type http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t, { type Test } from 'tap';
import type { RecordedExchange } from '../../proxy/parity/records.ts';
import { countTraffic, readTraffic, type UnansweredEntry } from '../../proxy/replay/read-traffic.ts';
import { runCli } from '../helpers/cli.ts';
import { startUpstream } from '../helpers/http.ts';

/**
 * Regression: one HAR entry that got no answer (Playwright writes status -1, Chrome's devtools
 * status 0, for blocked, aborted or failed requests) made `strangler replay` reject the whole
 * file. Such entries are skipped, counted and told to the user; the rest is replayed.
 */

const CHROMIUM = '/usr/bin/chromium';
const DEVTOOLS_HAR = fileURLToPath(new URL('../fixtures/har/chrome-devtools-blocked.har', import.meta.url));

async function read(file: string): Promise<{ exchanges: RecordedExchange[]; unanswered: UnansweredEntry[] }> {
  const exchanges: RecordedExchange[] = [];
  const unanswered: UnansweredEntry[] = [];
  for await (const exchange of readTraffic(file, { onUnanswered: (entry) => unanswered.push(entry) })) exchanges.push(exchange);
  return { exchanges, unanswered };
}

/** A site as slow as a PHP page (100 ms): an HTML page whose script fetches two JSON answers. */
function site() {
  return (req: http.IncomingMessage, res: http.ServerResponse) => {
    req.resume();
    setTimeout(() => {
      const url = req.url!;
      if (url === '/') {
        res.writeHead(200, { 'content-type': 'text/html; charset=UTF-8' });
        res.end(
          '<!DOCTYPE html><html><head><link rel="stylesheet" href="/style.css"><script src="/tracker.js"></script></head>' +
            '<body><img src="/ad.png"><script>Promise.all([1, 2].map((id) => fetch("/wp-json/wp/v2/posts/" + id).then((r) => r.json())))' +
            '.then((posts) => { document.title = posts.map((p) => p.slug).join(","); })</script></body></html>',
        );
      } else if (url === '/style.css') {
        res.writeHead(200, { 'content-type': 'text/css' });
        res.end('body { margin: 0 }');
      } else if (url.startsWith('/wp-json/wp/v2/posts/')) {
        const id = Number(url.split('/').pop());
        res.writeHead(200, { 'content-type': 'application/json; charset=UTF-8' });
        res.end(JSON.stringify({ id, slug: id === 1 ? 'hello-world' : 'sample-page', title: { rendered: `post ${id}` } }));
      } else {
        res.writeHead(404, { 'content-type': 'text/html' });
        res.end('not found');
      }
    }, 100);
  };
}

async function setup(t: Test) {
  const legacy = await startUpstream('legacy', site());
  const service = await startUpstream('posts', site());
  t.teardown(async () => {
    await legacy.close();
    await service.close();
  });
  const dir = t.testdir();
  const config = path.join(dir, 'routes.yaml');
  await writeFile(config, `legacy: ${legacy.url}\nservices:\n  posts: ${service.url}\nflags:\n  file: flags.json\nroutes:\n  - name: posts-get\n    match: GET /wp-json/wp/v2/posts/:id\n    service: posts\n`);
  const replay = (file: string, ...args: string[]) =>
    runCli(['replay', file, '--config', config, '--no-store', '--noise-warmup', '0', '--report', path.join(dir, 'report.json'), ...args]);
  return { legacy, service, dir, replay };
}

t.test('a HAR recorded by Playwright with aborted and blocked requests replays the rest and counts them', { skip: existsSync(CHROMIUM) ? false : `${CHROMIUM} missing (apt-get install -y chromium)` }, async (t) => {
  const { legacy, service, dir, replay } = await setup(t);
  const { chromium } = await import('playwright-core');
  const har = path.join(dir, 'playwright.har');
  const browser = await chromium.launch({ executablePath: CHROMIUM });
  try {
    const context = await browser.newContext({ recordHar: { path: har } });
    const page = await context.newPage();
    await page.route('**/tracker.js', (route) => route.abort());
    await page.route('**/ad.png', (route) => route.abort('blockedbyclient'));
    await page.goto(`${legacy.url}/`);
    await page.waitForFunction(() => document.title === 'hello-world,sample-page');
    await context.close();
  } finally {
    await browser.close();
  }
  // Chromium may or may not ask for /favicon.ico on its own: left out of what is compared here
  const isFavicon = (url: string) => url.endsWith('/favicon.ico');
  const written = JSON.parse(await readFile(har, 'utf8'));
  t.equal(written.log.creator.name, 'Playwright');
  const entries = (written.log.entries as Array<{ request: { url: string }; response: { status: number } }>).filter((e) => !isFavicon(e.request.url));
  t.same(entries.map((e) => e.response.status).sort(), [-1, -1, 200, 200, 200, 200], 'Playwright wrote -1 for the two requests without an answer');
  const favicons = written.log.entries.length - entries.length;

  const { exchanges, unanswered } = await read(har);
  t.same(exchanges.map((e) => e.request.url).filter((url) => !isFavicon(url)).sort(), ['/', '/style.css', '/wp-json/wp/v2/posts/1', '/wp-json/wp/v2/posts/2']);
  t.same(unanswered.map((u) => [u.method, new URL(u.url).pathname, u.status]).sort(), [['GET', '/ad.png', -1], ['GET', '/tracker.js', -1]]);
  t.same(unanswered.map((u) => u.error).sort(), ['net::ERR_BLOCKED_BY_CLIENT.Inspector', 'net::ERR_FAILED']);
  t.equal(await countTraffic(har), 4 + favicons, 'the progress total counts only what will be replayed');

  legacy.seen.length = 0;
  service.seen.length = 0;
  const res = await replay(har);
  t.equal(res.code, 0, res.stderr);
  t.match(res.stdout, /posts-get\s+2\s+2\s+0\s+0\s+0\s+100\.00 %/);
  t.match(res.stdout, '2 HAR entries got no answer when recorded (status 0 or -1: net::ERR_BLOCKED_BY_CLIENT.Inspector ×1, net::ERR_FAILED ×1) and were not replayed');
  t.notOk(legacy.seen.some((r) => r.url === '/tracker.js' || r.url === '/ad.png'), 'an unanswered request is not sent again');
  t.equal(service.seen.length, 2);
});

t.test('a HAR exported from Chrome devtools with blocked and cancelled requests (status 0)', async (t) => {
  const { exchanges, unanswered } = await read(DEVTOOLS_HAR);
  t.same(exchanges.map((e) => `${e.request.method} ${e.request.url}`), [
    'GET /',
    'GET /wp-includes/css/dist/block-library/style.min.css?ver=6.1.1',
    'GET /wp-json/wp/v2/posts/1',
    'GET /wp-json/wp/v2/posts/2',
  ]);
  t.same(unanswered, [
    { index: 2, method: 'GET', url: 'https://www.googletagmanager.com/gtag/js?id=G-8HK2QZ1X0P', status: 0, error: 'net::ERR_BLOCKED_BY_CLIENT' },
    { index: 5, method: 'GET', url: 'https://connect.facebook.net/en_US/fbevents.js', status: 0, error: 'net::ERR_BLOCKED_BY_CLIENT' },
    { index: 6, method: 'POST', url: 'http://localhost:8080/wp-admin/admin-ajax.php', status: 0, error: 'net::ERR_ABORTED' },
  ]);
  t.equal(await countTraffic(DEVTOOLS_HAR), 4);

  const { legacy, service, dir, replay } = await setup(t);
  const res = await replay(DEVTOOLS_HAR, '--json');
  t.equal(res.code, 0, res.stderr);
  const report = JSON.parse(res.stdout);
  t.match(report, { source: 'replay', routes: [{ route: 'posts-get', compared: 2, parity: 100 }] });
  t.same(report.traffic, { requests: 4, unmatched: 2, unanswered: { count: 3, byError: { 'net::ERR_BLOCKED_BY_CLIENT': 2, 'net::ERR_ABORTED': 1 } } });
  t.same(JSON.parse(await readFile(path.join(dir, 'report.json'), 'utf8')).traffic, report.traffic, 'the report file says the same');
  t.match(res.stderr, 'report: ');
  t.notOk(legacy.seen.some((r) => r.url === '/wp-admin/admin-ajax.php'), 'the cancelled POST is not sent');
  t.equal(service.seen.length, 2);

  const table = await replay(DEVTOOLS_HAR);
  t.match(table.stdout, '3 HAR entries got no answer when recorded (status 0 or -1: net::ERR_BLOCKED_BY_CLIENT ×2, net::ERR_ABORTED ×1) and were not replayed');
});
