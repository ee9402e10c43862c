import { execFileSync, spawnSync } from 'node:child_process';
import t from 'tap';
import { MAX_INPUT_VARS, QUERY_ARRAY, readQuery } from '../../proxy/routing/read-query.ts';

const NAMES = new Set(['rest_route', 'page', 'a_b']);
/** Node reads the request line as latin1: "é" sent raw arrives as its UTF-8 bytes, one char each */
const wire = (q: string) => Buffer.from(q, 'utf8').toString('latin1');

/** Spellings of one parameter a client may send, with what PHP's $_GET['rest_route'] (or page, a_b) holds. */
const SPELLINGS: Array<[query: string, name: string, expected: string | typeof QUERY_ARRAY | undefined]> = [
  ['rest_route=/wp/v2/categories', 'rest_route', '/wp/v2/categories'],
  ['rest_route=a&rest_route=b', 'rest_route', 'b'],
  ['rest_route=%2Fwp%2fv2%2Fcategories', 'rest_route', '/wp/v2/categories'],
  ['rest%5Froute=/x', 'rest_route', '/x'],
  ['%72est_route=/x', 'rest_route', '/x'],
  ['rest.route=/x', 'rest_route', '/x'],
  ['rest+route=/x', 'rest_route', '/x'],
  ['rest%20route=/x', 'rest_route', '/x'],
  ['%20%20rest_route=/x', 'rest_route', '/x'],
  ['++rest_route=/x', 'rest_route', '/x'],
  ['rest[route=/x', 'rest_route', '/x'],
  ['rest_route%00junk=/x', 'rest_route', '/x'],
  ['rest_route[]=/x', 'rest_route', QUERY_ARRAY],
  ['rest_route[k]=/x', 'rest_route', QUERY_ARRAY],
  ['rest_route=/x&rest_route[]=/y', 'rest_route', QUERY_ARRAY],
  ['rest_route[]=/y&rest_route=/x', 'rest_route', '/x'],
  ['rest_route=a+b%2Bc', 'rest_route', 'a b+c'],
  ['rest_route=%zz%4', 'rest_route', '%zz%4'],
  ['rest_route', 'rest_route', ''],
  ['rest_route=', 'rest_route', ''],
  ['rest_route=x=y', 'rest_route', 'x=y'],
  ['&&rest_route=x&&', 'rest_route', 'x'],
  ['a=1;rest_route=semi', 'rest_route', undefined],
  ['rest_route%3D/x', 'rest_route', undefined],
  ['Rest_route=/x', 'rest_route', undefined],
  ['rest_route_=/x', 'rest_route', undefined],
  ['x_rest_route=/x', 'rest_route', undefined],
  ['a.b[c=1', 'a_b', undefined],
  ['a[b=1', 'a_b', '1'],
  ['a b=1', 'a_b', '1'],
  ['page=%C3%A9t%C3%A9', 'page', 'été'],
  ['page=caf\u00e9', 'page', 'café'],
];

t.test('readQuery reads each spelling as PHP fills $_GET', async (t) => {
  for (const [query, name, expected] of SPELLINGS) {
    const values = readQuery(wire(query), NAMES);
    t.not(typeof values, 'string', `${query} is readable`);
    t.equal((values as Map<string, unknown>).get(name), expected, `?${query} → $_GET['${name}']`);
  }
});

const hasPhp = spawnSync('sh', ['-c', 'command -v php']).status === 0;
t.test('and real PHP agrees on every spelling', { skip: hasPhp ? false : 'php is not on PATH: the differential check against parse_str() is SKIPPED' }, async (t) => {
  // parse_str() runs the same php_default_treat_data as $_GET; strings come back hex-encoded
  const script = `foreach (json_decode(stream_get_contents(STDIN)) as [$q, $n]) { parse_str($q, $o); $v = $o[$n] ?? null; echo json_encode(is_array($v) ? ['array'] : ($v === null ? null : bin2hex($v))), "\\n"; }`;
  const input = SPELLINGS.map(([q, n]) => [q, n]);
  const lines = execFileSync('php', ['-r', script], { input: JSON.stringify(input) }).toString().trim().split('\n');
  SPELLINGS.forEach(([query, name], i) => {
    const php = JSON.parse(lines[i]);
    const ours = (readQuery(wire(query), NAMES) as Map<string, unknown>).get(name);
    const expected = php === null ? undefined : Array.isArray(php) ? QUERY_ARRAY : Buffer.from(php, 'hex').toString('utf8');
    t.equal(ours, expected, `?${query}: PHP and the proxy read $_GET['${name}'] alike`);
  });
});

t.test('what PHP or the application would read otherwise is refused, not guessed', async (t) => {
  t.equal(readQuery('rest_route=/wp/v2/categories#frag', NAMES), 'fragment', 'a # (web servers disagree on where the query ends)');
  t.equal(readQuery('rest_route=/wp/v2/categories%0A', NAMES), 'control-character', "%0A: PCRE's $ matches before it, so the application would route it as the bare value");
  t.equal(readQuery('rest_route=%00', NAMES), 'control-character');
  t.equal(readQuery('rest_route=%7F', NAMES), 'control-character');
  t.type(readQuery('other=%0A&rest_route=/x', NAMES), Map, 'a control character in a parameter no route reads is none of the proxy\'s business');
  const many = (n: number) => Array.from({ length: n }, (_, i) => `v${i}=1`).join('&');
  t.type(readQuery(`${many(MAX_INPUT_VARS - 1)}&rest_route=/x`, NAMES), Map, '1000 parameters are read');
  t.equal(readQuery(`${many(MAX_INPUT_VARS)}&rest_route=/x`, NAMES), 'too-many-parameters', "PHP's max_input_vars would drop the 1001st");
  t.type(readQuery(`${'&'.repeat(2000)}=1&rest_route=/x`, NAMES), Map, 'empty pairs and empty names are not counted, as in PHP');
});
