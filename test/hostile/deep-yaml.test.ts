import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import t from 'tap';
import { loadConfig } from '../../proxy/config/load-config.ts';
import { validateConfig } from '../../proxy/config/validate-config.ts';
import { ConfigError } from '../../proxy/errors.ts';

const FILE = '/etc/strangler/routes.yaml';
const GOOD = 'legacy: http://127.0.0.1:8000\nservices:\n  rooms: http://127.0.0.1:3101\nroutes:\n  - name: rooms-get\n    match: GET /api/rooms/:id\n    service: rooms\n';
/** well above what any check takes on an idle machine, well below the half second a reload used to block */
const QUICK_MS = 400;
/** shallow garbage costs the yaml composer about 1 µs a byte, 0.3 s at the size limit on an idle machine; it took 16 s for a megabyte */
const FLOOD_MS = 2000;

function timed(source: string) {
  const started = performance.now();
  const result = validateConfig(source, FILE, {});
  return { ...result, ms: performance.now() - started };
}

t.test('a 10 000-level flow sequence is refused quickly with the line, not a stack overflow', async (t) => {
  const { config, problems, ms } = timed(`${GOOD}    compare: ${'['.repeat(10_000)}${']'.repeat(10_000)}\n`);
  t.equal(config, undefined);
  t.match(problems, [{ file: FILE, line: 8, path: '', message: /^nested deeper than 32 levels \(a routes.yaml needs about 8\): an opening \[ or \{ is probably never closed, or the indentation runs away; close it or fix the indentation$/ }]);
  t.equal(problems.length, 1, 'one problem');
  t.notMatch(JSON.stringify(problems), /call stack/i, 'not "Maximum call stack size exceeded"');
  t.ok(ms < QUICK_MS, `in ${ms.toFixed(0)} ms`);
});

t.test('deep flow maps, 256 kB of unclosed [, and indentation that runs away are all refused the same way', async (t) => {
  const cases: Array<[string, string, number]> = [
    ['flow maps', `${GOOD}    compare: ${'{a: '.repeat(5000)}1${'}'.repeat(5000)}\n`, 8],
    ['unclosed [', `${GOOD}    compare: ${'['.repeat(256 * 1024 - GOOD.length - 20)}`, 8],
    ['block indentation', `${GOOD}    compare:\n${Array.from({ length: 200 }, (_, d) => `${' '.repeat(6 + 2 * d)}k${d}:`).join('\n')} 1\n`, 38],
    ['block sequences on one line', `${GOOD}    compare:\n      ${'- '.repeat(5000)}x\n`, 9],
  ];
  for (const [what, source, line] of cases) {
    const { problems, ms } = timed(source);
    t.match(problems, [{ line, message: /^nested deeper than 32 levels/ }], `${what}: refused at line ${line}`);
    t.ok(ms < QUICK_MS, `${what}: in ${ms.toFixed(0)} ms`);
  }
});

t.test('nesting up to the limit is parsed as usual (the limit is on depth, not on YAML features)', async (t) => {
  // top map, routes list, route, compare, tolerance = 5 levels; 27 more stay within 32
  const within = `${GOOD}    compare: { tolerance: { $.a: ${'['.repeat(26)}1${']'.repeat(26)} } }\n`;
  const over = `${GOOD}    compare: { tolerance: { $.a: ${'['.repeat(28)}1${']'.repeat(28)} } }\n`;
  t.notMatch(timed(within).problems, [{ message: /nested deeper/ }], 'within the limit: only the rules reader complains');
  t.match(timed(over).problems, [{ message: /nested deeper than 32 levels/ }]);
});

t.test('a file over 1 MB is refused before it is parsed, naming the file and its size', async (t) => {
  const dir = t.testdir();
  const file = path.join(dir, 'routes.yaml');
  await writeFile(file, `${GOOD}# ${'x'.repeat(2 * 1024 * 1024)}\n`);
  const err = await loadConfig(file, {}).catch((e: unknown) => e);
  t.ok(err instanceof ConfigError, 'a ConfigError');
  t.equal((err as ConfigError).code, 'STRANGLER_ERR_CONFIG_INVALID');
  t.match((err as ConfigError).problems, [{ file, line: 1, column: 1, message: /^the file is 2 MB, over the 1 MB a routes.yaml may have; check that --config names routes.yaml/ }]);
  t.match(timed(`${GOOD}# ${'x'.repeat(2 * 1024 * 1024)}\n`).problems, [{ message: /over the 1 MB a routes.yaml may have/ }], 'the same from text');
});

t.test('256 kB of stray tokens is refused with the first syntax error, in bounded time', async (t) => {
  for (const flood of [': ', '&a ', '? a\n', ', ', '- ? ']) {
    const { problems, ms } = timed(`${GOOD}extra: [${flood.repeat(Math.floor((256 * 1024 - GOOD.length - 20) / flood.length))}]\n`);
    t.match(problems, [{ message: /^YAML syntax: / }], `${JSON.stringify(flood)}: a syntax problem`);
    t.ok(problems[0].line >= 8 && problems[0].line <= 9, `${JSON.stringify(flood)}: where the flood starts (line ${problems[0].line})`);
    t.equal(problems.length, 1);
    t.ok(ms < FLOOD_MS, `${JSON.stringify(flood)}: in ${ms.toFixed(0)} ms`);
  }
});

t.test('a duplicate among 20 000 keys is found in bounded time (yaml\'s own check compared every pair)', async (t) => {
  const keys = Array.from({ length: 20_000 }, (_, i) => `  k${i}: 1`);
  keys.push('  k7: 2');
  const { problems, ms } = timed(`${GOOD}extra:\n${keys.join('\n')}\n`);
  t.match(problems, [{ line: 8 + 20_001, column: 3, message: 'YAML syntax: Map keys must be unique; remove one of the two keys' }]);
  t.ok(ms < FLOOD_MS, `in ${ms.toFixed(0)} ms`);
});
