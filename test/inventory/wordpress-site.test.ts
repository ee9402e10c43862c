import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import type { EndpointStats, Inventory } from '../../proxy/inventory/build-inventory.ts';
import { createInventoryBuilder } from '../../proxy/inventory/build-inventory.ts';
import { parseCombinedLine, type AccessRecord } from '../../proxy/inventory/read-access-log.ts';
import { runCli } from '../helpers/cli.ts';

/**
 * Regression: the inventory of a real WordPress site (nginx combined log with $request_time)
 * was a list of static files, one row each, `/wp-json/oembed/:id/embed` for oembed/1.0, and
 * every /?rest_route=… request in one `GET /` row. Now: static files grouped per top folder
 * and extension (or left out), versions and words kept, query-routed pages listed by their
 * routing parameter.
 */

const LOG = fileURLToPath(new URL('../fixtures/access-logs/wordpress-nginx.log', import.meta.url));

async function inventory(...args: string[]): Promise<{ inv: Inventory; stdout: string; stderr: string }> {
  // a folder without routes.yaml: an inventory before any route exists
  const res = await runCli(['inventory', LOG, '--json', ...args], { cwd: path.dirname(LOG) });
  if (res.code !== 0) throw new Error(res.stderr);
  return { inv: JSON.parse(res.stdout) as Inventory, stdout: res.stdout, stderr: res.stderr };
}

const rows = (inv: Inventory) => new Map(inv.endpoints.map((e) => [`${e.method} ${e.pattern}`, e]));

t.test('a WordPress access log: assets grouped, versions kept, query-routed pages by their parameter', async (t) => {
  const { inv } = await inventory();
  const byName = rows(inv);
  const names = [...byName.keys()];

  // static files: one row per top folder and extension
  for (const group of ['GET /wp-content/**/*.css', 'GET /wp-includes/**/*.css', 'GET /wp-includes/**/*.js', 'GET /wp-content/**/*.jpg', 'GET /wp-content/**/*.ttf', 'GET /*.ico']) {
    t.ok(byName.get(group)?.asset, `${group} is an asset group`);
  }
  t.notOk(names.some((n) => /twentytwentythree|jquery|harbour-1024/.test(n)), 'no row for a single static file');
  t.equal(names.filter((n) => byName.get(n)!.asset).length, 6);

  // versions and words with digits are not ids
  for (const kept of ['GET /wp-json/oembed/1.0/embed', 'GET /wp-json/wp/v2/categories', 'GET /wp-json/wp/v2/posts/:id', 'GET /wp-json/wp-a11y/v1/settings', 'GET /feed/rss2/']) {
    t.ok(byName.has(kept), kept);
  }
  t.notOk(names.some((n) => n.includes('oembed/:id') || n.includes('/wp-json/:id')), 'no version taken for an id');

  // query-routed pages, by the routing parameter's value, path-like values collapsed
  const restRoute = inv.endpoints.filter((e) => e.queryParam === 'rest_route');
  t.same(restRoute.map((e) => e.pattern).sort(), ['/?rest_route=/oembed/1.0/embed', '/?rest_route=/wp/v2/categories', '/?rest_route=/wp/v2/posts/:id']);
  t.equal(byName.get('GET /?rest_route=/wp/v2/posts/:id')!.requests, 2, 'every post id, percent-encoded or not, in one row');
  t.same(
    inv.endpoints.filter((e) => e.queryParam === 'page').map((e) => [e.pattern, e.requests]),
    [['/wp-admin/admin.php?page=akismet-key-config', 9], ['/wp-admin/admin.php?page=wc-settings', 5]],
    'a few words over many requests route admin.php',
  );
  const home = byName.get('GET /')!;
  t.equal(home.requests, 33, 'the home page and its ?s= and ?p= requests stay one row');
  t.notOk(home.queryParam);

  // parameters that do not route leave the path one row
  for (const one of ['GET /wp-login.php', 'GET /wp-json/wp/v2/posts', 'GET /wp-admin/load-scripts.php', 'POST /wp-cron.php', 'GET /wp-admin/post.php']) {
    t.ok(byName.has(one), one);
  }
  t.notOk(names.some((n) => /redirect_to|page=2|per_page|doing_wp_cron|load%5B|ver=|post=/.test(n)), 'redirect targets, pagination, cache busters and ids never route');

  t.equal(inv.total, 293, 'every line counted');
  t.equal(inv.assetsOmitted, 0);
  t.equal(inv.endpoints.reduce((n, e: EndpointStats) => n + e.requests, 0), inv.total, 'each request in exactly one row');
});

t.test('--no-assets leaves static files out of the rows and the totals, and says so', async (t) => {
  const { inv } = await inventory('--no-assets');
  t.notOk(inv.endpoints.some((e) => e.asset), 'no asset row');
  t.equal(inv.assetsOmitted, 140);
  t.equal(inv.total, 293 - 140);
  const table = await runCli(['inventory', LOG, '--no-assets', '--top', '0'], { cwd: path.dirname(LOG) });
  t.equal(table.code, 0, table.stderr);
  t.match(table.stdout, /^GET \/\?rest_route=\/wp\/v2\/categories\s+2\s/m);
  t.match(table.stdout, '(140 static-file requests left out: --no-assets)');
  t.notMatch(table.stdout, '**/*.css');
});

t.test('a parameter first seen after requests without it: those requests stay in the path row', async (t) => {
  const line = (target: string) => `203.0.113.7 - - [05/Dec/2026:09:00:00 +0100] "GET ${target} HTTP/1.1" 200 100 "-" "curl/8.5.0" 0.050`;
  const builder = createInventoryBuilder({ routes: [], idleDays: 14 });
  for (const target of ['/', '/', '/?rest_route=/wp/v2/types', '/', '/?rest_route=/wp/v2/types/post']) builder.add(parseCombinedLine(line(target)) as AccessRecord);
  const inv = builder.build();
  t.same(inv.endpoints.map((e) => [e.pattern, e.requests]), [['/', 3], ['/?rest_route=/wp/v2/types', 1], ['/?rest_route=/wp/v2/types/post', 1]]);
});

t.test('pagination and free text do not route, however often they repeat', async (t) => {
  const line = (target: string) => `203.0.113.7 - - [05/Dec/2026:09:00:00 +0100] "GET ${target} HTTP/1.1" 200 100 "-" "curl/8.5.0" 0.050`;
  const builder = createInventoryBuilder({ routes: [], idleDays: 14 });
  for (let i = 0; i < 30; i++) {
    builder.add(parseCombinedLine(line(`/api/rooms?page=${(i % 3) + 1}`)) as AccessRecord);
    builder.add(parseCombinedLine(line(`/search?q=${['harbour walk', 'team', 'news'][i % 3].replace(' ', '+')}&sort=date`)) as AccessRecord);
  }
  const inv = builder.build();
  t.same(
    inv.endpoints.map((e) => [e.pattern, e.requests]),
    [['/api/rooms', 30], ['/search', 30]],
    'page=1..3 are ids; q holds a phrase, so it is free text; sort=date never changes',
  );
});

t.test('tracking, sorting and language parameters never route; many of them do not hide the one that does', async (t) => {
  const line = (target: string) => `203.0.113.7 - - [05/Dec/2026:09:00:00 +0100] "GET ${target} HTTP/1.1" 200 100 "-" "curl/8.5.0" 0.050`;
  const builder = createInventoryBuilder({ routes: [], idleDays: 14 });
  const noise = ['utm_source=newsletter', 'utm_medium=email', 'utm_campaign=winter', 'fbclid=IwAR2x', 'gclid=Cj0KCQ', 'lang=fr', 'order=desc', 'orderby=date', 'sort=title', 'q=harbour+walk', 'x=1'];
  for (let i = 0; i < 40; i++) {
    builder.add(parseCombinedLine(line(`/?${noise.join('&').replace('newsletter', ['newsletter', 'twitter'][i % 2])}`)) as AccessRecord);
  }
  builder.add(parseCombinedLine(line('/?rest_route=/wp/v2/categories&utm_source=twitter')) as AccessRecord);
  const inv = builder.build();
  t.same(inv.endpoints.map((e) => [e.pattern, e.requests]), [['/', 40], ['/?rest_route=/wp/v2/categories', 1]]);
});
