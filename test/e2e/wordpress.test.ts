import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { brotliDecompressSync, gunzipSync, inflateSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { chromium, type Page, type Response } from 'playwright-core';
import t, { type Test } from 'tap';
import { loadConfig } from '../../proxy/config/load-config.ts';
import { rolloutFeature, writeFlagsFile } from '../../proxy/flags/flags-file.ts';
import { buildStoredParityReport } from '../../proxy/parity/build-parity-report.ts';
import { closedPort, eventually, request, type Reply } from '../helpers/http.ts';
import { startTestProxy, type TestProxy } from '../helpers/proxy.ts';
import { ADMIN_PASSWORD, ADMIN_USER, startWordPress, wordpressSkipReason, type RunningWordPress } from './helpers/wordpress.ts';
import { startWpCategories } from './helpers/wp-categories-service.ts';

/**
 * Our own real-app test: WordPress 6.1 from Debian's package (nginx + php-fpm + MariaDB), the
 * proxy in front, driven by headless Chromium as a user would (home, a post, search, login, a
 * post published in the block editor, a comment on it, a media upload, logout), every page and
 * every redirect on the proxy's origin; then one real endpoint extracted (GET /wp-json/wp/v2/categories, a
 * Fastify service reading WordPress's tables), shadowed with compressed and plain requests,
 * and shifted to 50 % and 100 % with no failed request.
 */

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = fileURLToPath(new URL('../artifacts/wordpress/', import.meta.url));
const ROUTE = 'wp-categories';
const CATEGORIES = '/wp-json/wp/v2/categories';
/** what a client of the REST API sends (the block editor's own calls add _fields, context, _locale); parent=2 is News */
const QUERIES = ['', '?per_page=2', '?per_page=2&page=2', '?orderby=id', '?orderby=slug&order=desc', '?hide_empty=true', '?parent=2', '?slug=sport', '?search=port', '?per_page=100', '?orderby=count&order=desc', '?per_page=0', '?orderby=bogus'];
const ENCODINGS: Array<Record<string, string>> = [{ 'accept-encoding': 'gzip, br' }, {}];

const ROUTES_YAML = `  - name: ${ROUTE}
    match: GET ${CATEGORIES}
    service: ${ROUTE}
    stage: shadow
    shadow: { noiseWarmup: 6, noiseDelay: 50ms, timeout: 10s }
`;

/** The body a client reads: decoded as its Content-Encoding says. */
function decoded(reply: Reply): string {
  const encoding = reply.headers['content-encoding'];
  if (encoding === 'gzip') return gunzipSync(reply.body).toString('utf8');
  if (encoding === 'br') return brotliDecompressSync(reply.body).toString('utf8');
  if (encoding === 'deflate') return inflateSync(reply.body).toString('utf8');
  return reply.text;
}

async function seedCategories(wp: RunningWordPress) {
  // through WordPress's own API (slugs, &amp; in names, counts kept as WordPress keeps them);
  // post counts differ per category so orderby=count has no ties
  await wp.php(`
$news = wp_insert_term('News', 'category', ['description' => 'What happened, & why']);
$local = wp_insert_term('Local & Regional', 'category', ['parent' => $news['term_id'], 'description' => 'Close to "home"']);
$sport = wp_insert_term('Sport', 'category');
wp_insert_term('Événements', 'category');
foreach ([[$news, 5], [$sport, 4], [$local, 3]] as [$term, $n])
  for ($i = 0; $i < $n; $i++)
    wp_insert_post(['post_title' => "Story $i in {$term['term_id']}", 'post_status' => 'publish', 'post_content' => 'Figs strangle trees slowly.', 'post_category' => [$term['term_id']]]);
`);
}

interface Seen {
  url: string;
  status: number;
  location?: string;
  type: string;
}

/** Records every response the browser saw, redirects included, with its Location. */
function watchResponses(page: Page): Seen[] {
  const seen: Seen[] = [];
  page.on('response', (response: Response) => {
    const location = response.headers()['location'];
    seen.push({ url: response.url(), status: response.status(), location, type: response.request().resourceType() });
  });
  return seen;
}

async function screenshot(page: Page, name: string) {
  await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: false });
}

async function browse(t: Test, proxy: TestProxy, wp: RunningWordPress) {
  const origin = new URL(proxy.url).origin;
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  t.teardown(() => browser.close());
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  page.setDefaultTimeout(30_000);
  const seen = watchResponses(page);
  // the outside world (gravatar, s.w.org) is cut off; a redirect's target is not routed by
  // Playwright, so what reached the monolith directly is read from the responses seen
  await context.route(/^https?:\/\/(?!127\.0\.0\.1[:/]|localhost[:/])/, (route) => route.abort());
  const goto = async (target: string) => {
    try {
      return await page.goto(new URL(target, origin).href, { waitUntil: 'domcontentloaded' });
    } catch (err) {
      t.fail(`${target}: the page did not load through the proxy (${(err as Error).message.split('\n')[0]})`);
      return null;
    }
  };

  // --- a visitor: home, a post (through WordPress's canonical redirect), search -------------
  const home = await goto('/');
  t.equal(home?.status(), 200, 'home page');
  t.match(await page.title(), /Strangler Fig Gazette/);
  await screenshot(page, '01-home');
  await goto('/?p=1');
  t.equal(page.url(), `${origin}/hello-world/`, 'a post by id is redirected to its permalink, on the proxy');
  t.equal(await page.locator('h1').first().textContent(), 'Hello world!');
  await screenshot(page, '02-post');
  await goto('/?s=story');
  t.match(await page.locator('main').textContent(), /Story 0/, 'search finds the seeded posts');
  await screenshot(page, '03-search');

  // --- /wp-admin: nginx's own directory redirect names nginx's port (defect 2) -------------
  await goto('/wp-admin');
  t.match(page.url(), new RegExp(`^${origin}/wp-login\\.php\\?redirect_to=`), '/wp-admin → /wp-admin/ → the login page, all on the proxy');

  // --- login ---------------------------------------------------------------------------------
  await goto('/wp-login.php');
  await page.fill('#user_login', ADMIN_USER);
  await page.fill('#user_pass', ADMIN_PASSWORD);
  await Promise.all([page.waitForURL(`${origin}/wp-admin/**`, { waitUntil: 'domcontentloaded' }), page.click('#wp-submit')]);
  t.equal(new URL(page.url()).pathname, '/wp-admin/', 'logged in: the dashboard');
  const cookies = await context.cookies(origin);
  const loggedIn = cookies.find((c) => c.name.startsWith('wordpress_logged_in_'));
  t.ok(loggedIn, `WordPress's login cookie is wordpress_logged_in_<hash> (${cookies.map((c) => c.name)})`);
  await screenshot(page, '04-dashboard');

  // --- publish a post in the block editor ----------------------------------------------------
  await goto('/wp-admin/post-new.php');
  const title = `Published through the proxy ${Date.now()}`;
  // the first visit opens the welcome guide over the editor
  const welcome = page.locator('.edit-post-welcome-guide button[aria-label="Close dialog"]');
  await welcome.waitFor({ timeout: 90_000 });
  await welcome.click();
  const titleBox = page.locator('.editor-post-title__input');
  await titleBox.fill(title);
  await titleBox.press('Enter');
  await page.keyboard.type('Every request of this editor went through strangler.');
  await page.locator('.editor-post-publish-panel__toggle').click();
  await page.locator('.editor-post-publish-panel .editor-post-publish-button').click();
  const postLink = page.locator('.post-publish-panel__postpublish-header a').first();
  await postLink.waitFor({ timeout: 60_000 });
  await screenshot(page, '05-published');
  const published = await postLink.getAttribute('href');
  t.match(published, new RegExp(`^${origin}/`), `the published post's address is on the proxy (${published})`);
  await goto(published ?? '/');
  t.equal(await page.locator('h1').first().textContent(), title, 'the published post is served');

  // --- a comment on it (wp-comments-post.php answers with a redirect back to the post) --------
  await page.fill('#comment', 'A comment posted through the proxy.');
  await Promise.all([page.waitForURL(/#comment-\d+$/, { waitUntil: 'domcontentloaded' }), page.click('#submit')]);
  t.match(page.url(), new RegExp(`^${origin}/published-through-the-proxy-\\d+/#comment-\\d+$`), 'the comment redirected back to the post, on the proxy');
  t.match(await page.locator('.wp-block-comment-content, .comment-content').first().textContent(), /A comment posted through the proxy/);
  await screenshot(page, '06-comment');

  // --- media upload (the browser uploader: multipart POST, then a redirect) ------------------
  await goto('/wp-admin/media-new.php?browser-uploader');
  const png = await page.screenshot();
  await page.setInputFiles('#async-upload', { name: 'strangler-fig.png', mimeType: 'image/png', buffer: png });
  await Promise.all([page.waitForURL(`${origin}/wp-admin/upload.php**`, { waitUntil: 'domcontentloaded' }), page.click('#html-upload')]);
  t.match(page.url(), new RegExp(`^${origin}/wp-admin/upload\\.php`), 'the upload redirected to the media library on the proxy');
  await goto('/wp-admin/upload.php?mode=list');
  const thumb = page.locator('#the-list img').first();
  const src = await thumb.getAttribute('src', { timeout: 30_000 });
  t.match(src, new RegExp(`^${origin}/wp-content/uploads/`), `the uploaded image is served from the proxy (${src})`);
  const image = await request(new URL(src ?? '/', origin).href);
  t.equal(image.status, 200, 'the uploaded image (a thumbnail WordPress made with GD) is there');
  t.equal(image.headers['content-type'], 'image/png');
  await screenshot(page, '07-media');

  // --- logout --------------------------------------------------------------------------------
  const logout = await page.locator('#wp-admin-bar-logout a').getAttribute('href');
  await goto(logout ?? '/wp-login.php?action=logout');
  t.match(page.url(), new RegExp(`^${origin}/wp-login\\.php\\?loggedout=true`), 'logged out, back on the login page');
  t.notOk((await context.cookies(origin)).some((c) => c.name.startsWith('wordpress_logged_in_')), 'the login cookie is gone');
  await screenshot(page, '08-logged-out');

  // --- every page and every redirect stayed on the proxy's origin -----------------------------
  const documents = seen.filter((s) => s.type === 'document');
  t.ok(documents.length >= 10, `${documents.length} pages loaded`);
  t.same(documents.filter((s) => new URL(s.url).origin !== origin).map((s) => `${s.status} ${s.url}`), [], 'every page came from the proxy');
  const redirects = seen.filter((s) => s.location !== undefined);
  t.ok(redirects.length >= 4, `${redirects.length} redirects seen: ${redirects.map((r) => `${r.status} ${new URL(r.url).pathname} → ${r.location}`).join('; ')}`);
  const away = redirects.filter((r) => new URL(r.location!, r.url).origin !== origin).map((r) => `${r.status} ${r.url} → ${r.location}`);
  t.same(away, [], 'every redirect stays on the proxy (Location rewriting)');
  const monolith = new URL(wp.url).origin;
  t.same(seen.filter((s) => new URL(s.url).origin === monolith).map((s) => `${s.status} ${s.url}`), [], 'the browser never talked to the monolith directly');
  t.same(
    seen.filter((s) => s.status >= 500).map((s) => `${s.status} ${s.url}`),
    [],
    'no 5xx in the whole session',
  );
}

/** Shadow: legacy answers every request, the service gets a copy; both compared. */
async function shadow(t: Test, proxy: TestProxy) {
  // the store counts matches per whole second: a window must start on one
  const since = Math.floor(Date.now() / 1000) * 1000;
  for (const query of QUERIES) {
    for (const headers of ENCODINGS) {
      const reply = await request(`${proxy.url}${CATEGORIES}${query}`, { headers });
      t.equal(reply.headers['x-strangler-target'], 'legacy', `${query || '(no query)'} ${headers['accept-encoding'] ?? 'identity'}: legacy answers in shadow`);
      if (headers['accept-encoding'] && reply.status === 200) t.equal(reply.headers['content-encoding'], 'gzip', 'nginx gzips the answer');
    }
  }
  await proxy.proxy.state.shadow.idle();
  await proxy.proxy.state.shadow.noiseIdle();
  await proxy.proxy.store!.flush();
  // the last copies' outcomes may still be on their way to the store: poll with a deadline
  const expectedCount = QUERIES.length * ENCODINGS.length;
  const route = await eventually(
    async () => {
      await proxy.proxy.store!.flush();
      const [r] = (await buildStoredParityReport(proxy.proxy.store!, { since, route: ROUTE })).routes;
      return r && r.matches + r.mismatches + r.candidateErrors >= expectedCount ? r : undefined;
    },
    { timeoutMs: 15_000, intervalMs: 100 },
  ).catch(async () => (await buildStoredParityReport(proxy.proxy.store!, { since, route: ROUTE })).routes[0]);
  const { matches, mismatches, candidateErrors, skipped } = route ?? {};
  t.equal(route?.compared, expectedCount, `every request, compressed or not, was compared (${JSON.stringify({ matches, mismatches, candidateErrors, skipped, runner: proxy.proxy.state.shadow.stats() })})`);
  t.equal(route?.parity, 100, `parity 100 % with gzip on legacy's side (differences: ${JSON.stringify(route?.topDifferences)})`);
  t.same(route?.topDifferences, []);
  t.same(route?.noise, [], "nothing in WordPress's categories varies between two calls: no noise learned, certainly not the whole body");
}

/**
 * The same endpoint routed by its query parameter, as a site without pretty permalinks reaches
 * it (/?rest_route=/wp/v2/categories): only that value of rest_route goes to the service's copy;
 * the home page, also GET /, stays legacy's alone.
 */
async function queryRouted(t: Test, proxy: TestProxy) {
  const before = await readFile(proxy.configFile, 'utf8');
  await writeFile(proxy.configFile, `${before}  - name: ${ROUTE}-by-query\n    match: GET /\n    query: { rest_route: /wp/v2/categories }\n    service: ${ROUTE}\n    stage: shadow\n`);
  try {
    await proxy.proxy.reload(await loadConfig(proxy.configFile));
  } catch (err) {
    await writeFile(proxy.configFile, before);
    t.fail(`a route with query: { rest_route: … } is refused: ${(err as Error).message.split('\n').slice(0, 2).join(' ')}`);
    return;
  }
  const since = Math.floor(Date.now() / 1000) * 1000;
  const queries = QUERIES.map((q) => `/?rest_route=${CATEGORIES.slice('/wp-json'.length)}${q.replace('?', '&')}`);
  for (const target of queries) for (const headers of ENCODINGS) t.equal((await request(`${proxy.url}${target}`, { headers })).headers['x-strangler-target'], 'legacy', `${target}: legacy answers`);
  const home = await request(`${proxy.url}/?s=story`);
  t.equal(home.status, 200, 'a search, also GET /, is answered as before');
  const expectedCount = queries.length * ENCODINGS.length;
  await proxy.proxy.state.shadow.idle();
  const route = await eventually(
    async () => {
      await proxy.proxy.store!.flush();
      const [r] = (await buildStoredParityReport(proxy.proxy.store!, { since, route: `${ROUTE}-by-query` })).routes;
      return r && r.compared >= expectedCount ? r : undefined;
    },
    { timeoutMs: 15_000, intervalMs: 100 },
  ).catch(async () => (await buildStoredParityReport(proxy.proxy.store!, { since, route: `${ROUTE}-by-query` })).routes[0]);
  t.equal(route?.compared, expectedCount, 'each query-routed request was compared, and only those (not the search)');
  t.equal(route?.parity, 100, `parity 100 % (differences: ${JSON.stringify(route?.topDifferences)?.slice(0, 500)})`);
}

/** Canary: the flag shifted 0 → 50 → 100 % under steady traffic; no request fails or differs. */
async function shift(t: Test, proxy: TestProxy, wp: RunningWordPress) {
  // what WordPress itself answers each query, as a client of the proxy's origin
  const expected = new Map<string, { status: number; json: unknown }>();
  for (const query of QUERIES) {
    const reply = await request(`${wp.url}${CATEGORIES}${query}`, { headers: { host: new URL(proxy.url).host } });
    expected.set(query, { status: reply.status, json: JSON.parse(decoded(reply)) });
  }
  await writeFile(proxy.configFile, (await readFile(proxy.configFile, 'utf8')).replace('stage: shadow', 'stage: canary'));
  await proxy.proxy.reload(await loadConfig(proxy.configFile));
  const served: Array<{ share: number; target: string }> = [];
  const failed: string[] = [];
  let share = 0;
  let stop = false;
  const load = (async () => {
    for (let i = 0; !stop; i++) {
      const query = QUERIES[i % QUERIES.length];
      const headers = ENCODINGS[i % ENCODINGS.length];
      const sentAt = share;
      const what = `${query || '(no query)'} ${headers['accept-encoding'] ?? 'identity'} at ${sentAt} %`;
      try {
        const reply = await request(`${proxy.url}${CATEGORIES}${query}`, { headers });
        const want = expected.get(query)!;
        served.push({ share: sentAt, target: String(reply.headers['x-strangler-target']) });
        if (reply.status !== want.status) failed.push(`${what}: ${reply.status} from ${reply.headers['x-strangler-target']}`);
        else if (JSON.stringify(JSON.parse(decoded(reply))) !== JSON.stringify(want.json)) failed.push(`${what}: body differs from WordPress's, from ${reply.headers['x-strangler-target']}`);
      } catch (err) {
        failed.push(`${what}: ${(err as Error).message}`);
      }
    }
  })();
  const count = (s: number, target?: string) => served.filter((r) => r.share === s && (!target || r.target === target)).length;
  const shiftTo = async (percent: number) => {
    await writeFlagsFile(proxy.flagsFile, { version: 2, features: [rolloutFeature(ROUTE, percent)] });
    // the flags file is re-read by the running proxy: from 0 % the first answer of the service
    // shows it, at 100 % twenty in a row
    const inARow = percent === 100 ? 20 : 1;
    await eventually(
      async () => {
        for (let i = 0; i < inARow; i++) if ((await request(`${proxy.url}${CATEGORIES}`)).headers['x-strangler-target'] !== ROUTE) return false;
        return true;
      },
      { timeoutMs: 15_000 },
    );
    share = percent;
  };
  try {
    await eventually(() => count(0) >= 12, { timeoutMs: 30_000 });
    t.equal(count(0, ROUTE), 0, 'at 0 % legacy answers everything');
    await shiftTo(50);
    await eventually(() => count(50) >= 40, { timeoutMs: 30_000 });
    await stickyLogins(t, proxy, wp);
    await shiftTo(100);
    await eventually(() => count(100) >= 30, { timeoutMs: 30_000 });
  } finally {
    stop = true;
    await load;
  }
  const atHalf = count(50, ROUTE) / count(50);
  t.ok(atHalf > 0.2 && atHalf < 0.8, `at 50 % both answer (service share ${(atHalf * 100).toFixed(0)} % of ${count(50)} anonymous requests)`);
  t.equal(count(100, ROUTE), count(100), 'at 100 % the service answers every request');
  t.same(failed, [], `no request failed or differed from WordPress's answer over ${served.length} requests`);
}

/** Logs a WordPress user in over HTTP through the proxy; returns the Cookie header a browser would send. */
async function logIn(proxy: TestProxy, user: string, password: string): Promise<string> {
  const reply = await request(`${proxy.url}/wp-login.php`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: 'wordpress_test_cookie=WP%20Cookie%20check' },
    body: new URLSearchParams({ log: user, pwd: password, 'wp-submit': 'Log In', testcookie: '1', redirect_to: `${proxy.url}/wp-admin/` }).toString(),
  });
  const cookies = ([] as string[]).concat(reply.headers['set-cookie'] ?? []).map((c) => c.split(';')[0]);
  const loggedIn = cookies.find((c) => c.startsWith('wordpress_logged_in_'));
  if (reply.status !== 302 || !loggedIn) throw new Error(`login of ${user} failed: ${reply.status} ${cookies}`);
  return loggedIn;
}

/**
 * At 50 %, a logged-in WordPress user stays on one side: stickiness from the login cookie,
 * wordpress_logged_in_<hash of the site URL>, read by its name's prefix (context userId).
 */
async function stickyLogins(t: Test, proxy: TestProxy, wp: RunningWordPress) {
  const users = Array.from({ length: 8 }, (_, i) => `reader${i}`);
  await wp.php(users.map((u) => `wp_create_user('${u}', 'reader-Pa55-${u}', '${u}@example.test');`).join('\n'));
  const before = await readFile(proxy.configFile, 'utf8');
  await writeFile(proxy.configFile, `${before}context:\n  userId: { cookiePrefix: wordpress_logged_in_ }\n`);
  try {
    await proxy.proxy.reload(await loadConfig(proxy.configFile));
  } catch (err) {
    await writeFile(proxy.configFile, before);
    t.fail(`context userId: { cookiePrefix: wordpress_logged_in_ } is refused: ${(err as Error).message.split('\n').slice(0, 2).join(' ')}`);
    return;
  }
  const sides = new Map<string, Set<string>>();
  for (const user of users) {
    const cookie = await logIn(proxy, user, `reader-Pa55-${user}`);
    const targets = new Set<string>();
    for (let i = 0; i < 6; i++) {
      const reply = await request(`${proxy.url}${CATEGORIES}${QUERIES[i % QUERIES.length]}`, { headers: { cookie, ...ENCODINGS[i % 2] } });
      targets.add(String(reply.headers['x-strangler-target']));
    }
    sides.set(user, targets);
  }
  const wavering = [...sides].filter(([, targets]) => targets.size !== 1).map(([user, targets]) => `${user}: ${[...targets]}`);
  t.same(wavering, [], 'each logged-in user got every answer from one side (sticky on wordpress_logged_in_*)');
  t.comment(`at 50 %: ${[...sides.values()].filter((s) => s.has(ROUTE)).length} of ${users.length} logged-in users on the service`);
}

const skip = await wordpressSkipReason();
if (skip) console.error(`# ${skip}`);
// a real site takes its time: this file may run 3 minutes (tap's default for a file is 120 s)
t.setTimeout(180_000);

t.test('WordPress 6.1 (Debian package) behind the proxy: a browser session, then an extracted endpoint shadowed and shifted', { skip, timeout: 180_000 }, async (t) => {
  const dir = t.testdir();
  // this run's screenshots only
  await rm(ARTIFACTS, { recursive: true, force: true });
  await mkdir(ARTIFACTS, { recursive: true });
  const wp = await startWordPress(dir);
  t.teardown(() => wp.stop());
  // the proxy first, with the service's route in shadow: WordPress must be told the proxy's
  // origin (WP_HOME), and the service the same public URL; it joins by a hot reload
  const proxy = await startTestProxy({
    dir,
    legacy: wp.url,
    services: { [ROUTE]: `http://127.0.0.1:${await closedPort()}` },
    routes: ROUTES_YAML,
    extra: 'comparisons:\n  database: sqlite:comparisons.sqlite',
  });
  t.teardown(() => proxy.close());
  await wp.install(proxy.url);
  await seedCategories(wp);
  const service = await startWpCategories({ database: wp.database, tablePrefix: wp.tablePrefix, publicUrl: proxy.url });
  t.teardown(() => service.stop());
  await writeFile(proxy.configFile, (await readFile(proxy.configFile, 'utf8')).replace(/  wp-categories: http:\/\/127\.0\.0\.1:\d+/, `  ${ROUTE}: ${service.url}`));
  await proxy.proxy.reload(await loadConfig(proxy.configFile));

  // an untold redirect: nginx answers /wp-admin with its own port
  const direct = await request(`${proxy.url}/wp-admin`);
  t.equal(direct.status, 301);
  t.equal(direct.headers.location, `${proxy.url}/wp-admin/`, "nginx's own Location (its port) is rewritten to the proxy's origin");

  await t.test('a browser session stays on the proxy', (t) => browse(t, proxy, wp));
  await t.test('GET /wp-json/wp/v2/categories extracted: shadow parity, compressed and not', (t) => shadow(t, proxy));
  await t.test('the same endpoint routed by ?rest_route=, shadowed', (t) => queryRouted(t, proxy));
  await t.test('shifted to 50 % and 100 % with no failed request', (t) => shift(t, proxy, wp));
  if (t.passing() === false) t.comment(await wp.logs());
});
