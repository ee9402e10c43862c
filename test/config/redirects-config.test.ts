import t from 'tap';
import { validateConfig } from '../../proxy/config/validate-config.ts';

const FILE = '/etc/strangler/routes.yaml';

t.test('every upstream rewrites its redirects unless its long form says redirects: keep', async (t) => {
  const { config, problems } = validateConfig(
    `legacy: { url: http://127.0.0.1:8000, redirects: keep }
services:
  rooms: http://127.0.0.1:3101
  diaries: { url: http://127.0.0.1:3102, redirects: rewrite }
routes: []
`,
    FILE,
    {},
  );
  t.same(problems, []);
  t.equal(config!.legacy.origin, 'http://127.0.0.1:8000');
  t.same(config!.redirects, { legacy: 'keep', rooms: 'rewrite', diaries: 'rewrite' });
});

t.test('the short form of legacy keeps working and rewrites', async (t) => {
  const { config } = validateConfig('legacy: http://127.0.0.1:8000\nroutes: []\n', FILE, {});
  t.same(config!.redirects, { legacy: 'rewrite' });
});

t.test('an unknown mode, an unknown key and a long form without url are located', async (t) => {
  const { problems } = validateConfig(
    `legacy: { redirect: keep }
services:
  rooms: { url: http://127.0.0.1:3101, redirects: relative }
routes: []
`,
    FILE,
    {},
  );
  t.match(problems, [
    { line: 1, path: 'legacy.redirect', message: /did you mean "redirects"/ },
    { line: 1, path: 'legacy.url', message: /missing; add url: http/ },
    { line: 3, path: 'services.rooms.redirects', message: /unknown mode "relative"; write rewrite .* or keep/ },
  ]);
});
