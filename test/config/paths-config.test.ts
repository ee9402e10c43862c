import t from 'tap';
import { validateConfig } from '../../proxy/config/validate-config.ts';

const BASE = 'legacy: http://127.0.0.1:8000\nroutes: []\n';
const FILE = '/etc/strangler/routes.yaml';

t.test('paths: defaults normalise, merge slashes and decode escaped slashes', async (t) => {
  const { config, problems } = validateConfig(BASE, FILE, {});
  t.same(problems, []);
  t.same(config!.paths, { normalize: true, mergeSlashes: true, escapedSlashes: 'decode' });
});

t.test('paths: every setting is read', async (t) => {
  const { config, problems } = validateConfig(`${BASE}paths:\n  normalize: false\n  mergeSlashes: false\n  escapedSlashes: reject\n`, FILE, {});
  t.same(problems, []);
  t.same(config!.paths, { normalize: false, mergeSlashes: false, escapedSlashes: 'reject' });
});

t.test('paths: mistakes are reported with their line, all at once', async (t) => {
  const { config, problems } = validateConfig(`${BASE}paths:\n  escapedSlashes: unescape\n  mergeSlash: true\n  normalize: yes please\n`, FILE, {});
  t.equal(config, undefined);
  t.match(problems, [
    { line: 5, path: 'paths.mergeSlash', message: /did you mean "mergeSlashes"/ },
    { line: 4, path: 'paths.escapedSlashes', message: /unknown action "unescape"; write decode .*reject .*keep/ },
    { line: 6, path: 'paths.normalize', message: /true or false/ },
  ]);
});
