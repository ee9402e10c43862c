import { readdirSync, readFileSync, statSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import t from 'tap';
import { createDb } from '../../services/shared/database.ts';
import { startUpstream, type TestUpstream } from '../helpers/http.ts';
import { extract, makeRepo, runTsFile } from './demo-repo.ts';

/**
 * `strangler extract` in front of an application that is not our demo: a WordPress-like REST
 * endpoint. The scaffold must hold nothing of Timing, keep routes.yaml's layout, and its
 * contract test must hold the service to this legacy's answers, not the demo's.
 */

const SITE = 'http://shop.example';
const CATEGORIES = [
  { id: 3, count: 7, description: 'Things to read', name: 'Books', slug: 'books' },
  { id: 1, count: 0, description: '', name: 'Uncategorized', slug: 'uncategorized' },
  { id: 2, count: 12, description: 'Wearables', name: 'Clothes', slug: 'clothes' },
];

function asWordPress(c: (typeof CATEGORIES)[number]) {
  return { id: c.id, count: c.count, description: c.description, link: `${SITE}/category/${c.slug}/`, name: c.name, slug: c.slug, taxonomy: 'category', parent: 0 };
}

/** WordPress's answer to GET /wp-json/wp/v2/categories[?per_page=n], slowly, as php-fpm would; its own 404 and 400 shapes. */
async function startWordPressLike(): Promise<TestUpstream> {
  return startUpstream('wordpress', (req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    setTimeout(() => {
      const headers = { 'content-type': 'application/json; charset=UTF-8', 'x-robots-tag': 'noindex', 'x-content-type-options': 'nosniff' };
      if (url.pathname !== '/wp-json/wp/v2/categories') {
        res.writeHead(404, headers);
        res.end(JSON.stringify({ code: 'rest_no_route', message: 'No route was found matching the URL and request method.', data: { status: 404 } }));
        return;
      }
      const perPage = url.searchParams.get('per_page') ?? '10';
      if (!/^\d+$/.test(perPage)) {
        res.writeHead(400, headers);
        res.end(JSON.stringify({ code: 'rest_invalid_param', message: 'Invalid parameter(s): per_page', data: { status: 400, params: { per_page: 'per_page is not of type integer.' } } }));
        return;
      }
      const sorted = [...CATEGORIES].sort((a, b) => a.name.localeCompare(b.name));
      res.writeHead(200, { ...headers, 'x-wp-total': String(sorted.length), 'x-wp-totalpages': '1' });
      res.end(JSON.stringify(sorted.slice(0, Number(perPage)).map(asWordPress)));
    }, 100);
  });
}

const FOREIGN_ROUTES = (legacy: string) =>
  [
    '# strangler in front of the shop (WordPress on nginx + php-fpm)',
    'listen: 127.0.0.1:0               # the proxy',
    `legacy: ${legacy}    # nginx`,
    'services: {}                      # none yet',
    '',
    '# routes leave WordPress one by one',
    'routes: []',
    '',
  ].join('\n');

/** WordPress's tables as the service reads them (its real schema has more columns). */
async function createShopDatabase(dir: string): Promise<string> {
  const url = `sqlite:${path.join(dir, 'wordpress.sqlite')}`;
  const db = createDb(url);
  try {
    await db.schema.createTable('wp_options', (tb) => {
      tb.string('option_name');
      tb.text('option_value');
    });
    await db('wp_options').insert({ option_name: 'siteurl', option_value: SITE });
    await db.schema.createTable('wp_terms', (tb) => {
      tb.integer('term_id');
      tb.string('name');
      tb.string('slug');
      tb.text('description');
      tb.integer('count');
    });
    await db('wp_terms').insert(CATEGORIES.map((c) => ({ term_id: c.id, name: c.name, slug: c.slug, description: c.description, count: c.count })));
  } finally {
    await db.destroy();
  }
  return url;
}

/** The handler an engineer writes from the samples: WordPress's answers, read from its tables. */
const IMPLEMENTED = `import type { FastifyInstance } from 'fastify';
import type { RouteDeps } from '../app.ts';

export function registerCategoriesListRoute(app: FastifyInstance, { db }: RouteDeps): void {
  app.get('/wp-json/wp/v2/categories', async (request, reply) => {
    const perPage = (request.query as { per_page?: string }).per_page ?? '10';
    if (!/^\\d+$/.test(perPage)) {
      return reply.code(400).send({ code: 'rest_invalid_param', message: 'Invalid parameter(s): per_page', data: { status: 400, params: { per_page: 'per_page is not of type integer.' } } });
    }
    const site = await db('wp_options').where({ option_name: 'siteurl' }).first('option_value');
    const rows = await db('wp_terms').orderBy('name').limit(Number(perPage));
    reply.type('application/json; charset=UTF-8');
    return rows.map((r) => ({ id: r.term_id, count: r.count, description: r.description, link: \`\${site.option_value}/category/\${r.slug}/\`, name: r.name, slug: r.slug, taxonomy: 'category', parent: 0 }));
  });
}
`;

/** What only our demo has: its names, its database file, its envelope, error shape and headers. */
const DEMO_ISMS = /timing|\brooms?\b|diar(y|ies)|legacy\/(src|bin)|setup\.php|strangler demo|generated_at|request_id|cache-control|no-store|error: 'not found'|error: 'internal error'|PHPSESSID|phpSkipReason|startLegacy/i;

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const file = path.join(dir, name);
    return statSync(file).isDirectory() ? filesUnder(file) : [file];
  });
}

const PATHS = ['/wp-json/wp/v2/categories', '/wp-json/wp/v2/categories?per_page=2', '/wp-json/wp/v2/categories?per_page=two'];

t.test('extract in front of a WordPress-like app: a neutral scaffold, routes.yaml in its layout', async (t) => {
  const legacy = await startWordPressLike();
  t.teardown(() => legacy.close());
  const root = makeRepo(t, FOREIGN_ROUTES(legacy.url));
  const plan = await extract({ root, match: 'GET /wp-json/wp/v2/categories', service: 'categories', route: 'categories-list', paths: PATHS });
  t.same(plan.samples.total, 3);
  t.same(legacy.seen.map((r) => r.url), PATHS, 'the samples come from routes.yaml\'s legacy');

  const generated = [...filesUnder(path.join(root, 'services', 'categories')), ...filesUnder(path.join(root, 'test', 'services', 'categories')).filter((f) => !f.endsWith('.jsonl'))];
  t.ok(generated.length >= 6, 'app, server, healthz, route, README, contract test');
  for (const file of generated) {
    const found = DEMO_ISMS.exec(readFileSync(file, 'utf8'));
    t.equal(found?.[0], undefined, `${path.relative(root, file)} holds nothing of the demo`);
  }

  t.equal(readFileSync(path.join(root, 'routes.yaml'), 'utf8'), [
    '# strangler in front of the shop (WordPress on nginx + php-fpm)',
    'listen: 127.0.0.1:0               # the proxy',
    `legacy: ${legacy.url}    # nginx`,
    'services:                         # none yet',
    '  categories: http://127.0.0.1:3101',
    '',
    '# routes leave WordPress one by one',
    'routes:',
    '  - name: categories-list',
    '    match: GET /wp-json/wp/v2/categories',
    '    service: categories',
    '    stage: shadow',
    '',
  ].join('\n'), 'comments kept, the new entries in block style');
});

t.test('the generated contract test holds the service to this app\'s recorded answers, and to live legacy when asked', async (t) => {
  const legacy = await startWordPressLike();
  t.teardown(() => legacy.close());
  const root = makeRepo(t, FOREIGN_ROUTES(legacy.url));
  await extract({ root, match: 'GET /wp-json/wp/v2/categories', service: 'categories', route: 'categories-list', paths: PATHS });
  const testFile = path.join(root, 'test/services/categories/categories-list.contract.test.ts');
  const databaseUrl = await createShopDatabase(root);
  const run = (env: NodeJS.ProcessEnv = {}) => runTsFile(testFile, { cwd: root, env: { DATABASE_URL: databaseUrl, CONTRACT_LIVE: '', CONTRACT_LEGACY_URL: '', ...env } });

  const todo = await run();
  t.equal(todo.code, 0, `while the handler answers 501: TODO, green: ${todo.stdout}`);
  t.match(todo.stdout, /not ok 1 - sample 1: GET \/wp-json\/wp\/v2\/categories answers as recorded # TODO handler not implemented yet: 3 of 3 samples differ/);
  t.match(todo.stdout, /recorded: 200\n\s+service: 501/, 'the TODO says what differs');
  t.notMatch(todo.stdout, /404/, 'no sample is held to another app\'s answer');

  const asked = legacy.seen.length;
  await writeFile(path.join(root, 'services/categories/routes/categories-list.ts'), IMPLEMENTED);
  const passed = await run();
  t.equal(passed.code, 0, `the implemented service passes: ${passed.stdout}${passed.stderr}`);
  t.match(passed.stdout, /ok 1 - sample 1: GET \/wp-json\/wp\/v2\/categories answers as recorded\n/);
  t.match(passed.stdout, /ok 3 - sample 3: GET \/wp-json\/wp\/v2\/categories\?per_page=two answers as recorded\n/, 'legacy\'s own error shape');
  t.notMatch(passed.stdout, /# TODO|answers like live legacy/);
  t.equal(legacy.seen.length, asked, 'without CONTRACT_LIVE, legacy is not asked');

  const live = await run({ CONTRACT_LIVE: '1' });
  t.equal(live.code, 0, `and against live legacy: ${live.stdout}`);
  t.match(live.stdout, /ok \d+ - sample 2: GET \/wp-json\/wp\/v2\/categories\?per_page=2 answers like live legacy\n/);
  t.match(live.stdout, /ok \d+ - sample 2: GET \/wp-json\/wp\/v2\/categories\?per_page=2: the recorded answer still matches live legacy\n/);
  t.ok(legacy.seen.length > asked, 'routes.yaml\'s legacy was asked');

  // a wrong field once the handler is written: the test fails plainly, naming the path
  await writeFile(path.join(root, 'services/categories/routes/categories-list.ts'), IMPLEMENTED.replace('parent: 0', 'parent: null'));
  const failed = await run();
  t.not(failed.code, 0, 'a difference fails');
  t.match(failed.stdout, /not ok 1 - sample 1: GET \/wp-json\/wp\/v2\/categories answers as recorded\n/);
  t.match(failed.stdout, /path: \$\[0\]\.parent[\s\S]*recorded: 0[\s\S]*service: null/);
});
