import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { validateConfig } from '../../proxy/config/validate-config.ts';

const FILE = '/etc/strangler/routes.yaml';
const ROUTES_YAML = readFileSync(fileURLToPath(new URL('../../routes.yaml', import.meta.url)), 'utf8');
const check = (source: string) => validateConfig(source, FILE, {});

t.test('routes.yaml cut at any byte before its routes: is refused, not "ok — 0 route(s)"', async (t) => {
  const end = ROUTES_YAML.indexOf('\nroutes:') + 1;
  t.ok(end > 0, 'the repository routes.yaml has a routes: section');
  const loaded: number[] = [];
  for (let n = 0; n < end; n++) if (check(ROUTES_YAML.slice(0, n)).config) loaded.push(n);
  t.same(loaded, [], `none of the ${end} cuts loads`);
});

t.test('a file without routes: names what is missing and says it may be cut short', async (t) => {
  // a hot reload of such a file once sent a 100 % route back to legacy
  const cut = ROUTES_YAML.slice(0, ROUTES_YAML.indexOf('\nroutes:') + 1);
  const { config, problems } = check(cut);
  t.equal(config, undefined);
  t.match(problems, [
    {
      file: FILE,
      path: 'routes',
      message: 'missing; add routes: with "- name: …", "match: GET /path", "service: …" entries, or routes: [] for none. A file without routes: is often one cut short while it was written: check its end',
    },
  ]);
  t.equal(problems.length, 1, 'only that');
});

t.test('an explicit routes: [] is a proxy with no routes, as before', async (t) => {
  const { config, problems } = check('legacy: http://127.0.0.1:8000\nroutes: []\n');
  t.same(problems, []);
  t.equal(config?.routes.length, 0);
});
