import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { runCli } from '../helpers/cli.ts';

const ROUTES_YAML = readFileSync(fileURLToPath(new URL('../../routes.yaml', import.meta.url)), 'utf8');

t.test('strangler check on a truncated and on a deep file: exit 1, the file named, no stack trace', async (t) => {
  const dir = t.testdir();
  const files = {
    'truncated.yaml': ROUTES_YAML.slice(0, ROUTES_YAML.indexOf('\nroutes:') + 1),
    'deep.yaml': `${ROUTES_YAML}extra: ${'['.repeat(10_000)}${']'.repeat(10_000)}\n`,
  };
  const expected = {
    'truncated.yaml': /:\d+:\d+ routes: missing; add routes: .* or routes: \[\] for none\. A file without routes: is often one cut short/,
    'deep.yaml': /:\d+:\d+ nested deeper than 32 levels/,
  };
  for (const [name, source] of Object.entries(files)) {
    const file = path.join(dir, name);
    await writeFile(file, source);
    const { code, stdout, stderr } = await runCli(['check', '--config', file]);
    const output = stdout + stderr;
    t.equal(code, 1, `${name}: exit code 1`);
    t.match(stderr, `1 problem(s) in ${file}:`, `${name}: the file is named`);
    t.match(stderr, new RegExp(`${file.replace(/[/.]/g, '\\$&')}${expected[name as keyof typeof expected].source}`), `${name}: file:line:column and what to do`);
    t.notMatch(output, /^ {4}at /m, `${name}: no stack trace`);
    t.notMatch(output, /RangeError|call stack/, `${name}: no stack overflow`);
  }
});
