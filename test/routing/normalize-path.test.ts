import t from 'tap';
import { DEFAULTS, type PathsConfig } from '../../proxy/config/schema.ts';
import { buildPathError, MAX_PATH_LENGTH, normalizePath, type PathRejectionReason } from '../../proxy/routing/normalize-path.ts';

const DEFAULT: PathsConfig = DEFAULTS.paths;
const REJECT: PathsConfig = { ...DEFAULT, escapedSlashes: 'reject' };
const KEEP: PathsConfig = { ...DEFAULT, escapedSlashes: 'keep' };
const NO_MERGE: PathsConfig = { ...DEFAULT, mergeSlashes: false };
const NO_NORMALIZE: PathsConfig = { ...DEFAULT, normalize: false };
const OFF: PathsConfig = { normalize: false, mergeSlashes: false, escapedSlashes: 'keep' };

type Expected = string | { rejected: PathRejectionReason };
const rejected = (reason: PathRejectionReason) => ({ rejected: reason });

/** [what it is, target, expected with the defaults] */
const DEFAULT_CASES: Array<[string, string, Expected]> = [
  ['a normal path is unchanged', '/api/rooms/1', '/api/rooms/1'],
  ['the root', '/', '/'],
  ['an empty target is the root', '', '/'],
  ['a trailing slash stays', '/api/rooms/', '/api/rooms/'],
  ['a dot that is not a segment stays', '/.well-known/x.json', '/.well-known/x.json'],
  ['three dots are a name', '/a/.../b', '/a/.../b'],
  ['..b is a name', '/a/..b/c', '/a/..b/c'],

  ['%2F is a slash', '/api%2Frooms/1', '/api/rooms/1'],
  ['%2f is a slash', '/api%2frooms/1', '/api/rooms/1'],
  ['%252F is decoded once, not twice', '/api%252Frooms/1', '/api%252Frooms/1'],
  ['%25 stays encoded', '/a%25b', '/a%25b'],
  ['%5C is a slash', '/api%5Crooms/1', '/api/rooms/1'],
  ['%5c is a slash', '/api%5crooms/1', '/api/rooms/1'],
  ['a backslash is a slash', '/api\\rooms/1', '/api/rooms/1'],
  ['a decoded slash takes part in merging and dot segments', '/api/x%2F..%2F%2Frooms/1', '/api/rooms/1'],

  ['// is one slash', '//', '/'],
  ['leading empty segment', '//api/rooms/1', '/api/rooms/1'],
  ['empty segment inside', '/api//rooms/1', '/api/rooms/1'],
  ['a run of slashes', '/api///rooms////1', '/api/rooms/1'],
  ['trailing // is one trailing slash', '/api/rooms//', '/api/rooms/'],
  ['//host-looking prefix is only a segment', '//x/api/rooms/1', '/x/api/rooms/1'],

  ['/.. at the root stays at the root', '/..', '/'],
  ['/../.. above the root stays at the root', '/../..', '/'],
  ['above the root, then a path', '/../../api/rooms/1', '/api/rooms/1'],
  ['.. removes one segment', '/api/x/../rooms/1', '/api/rooms/1'],
  ['. is removed', '/api/./rooms/./1', '/api/rooms/1'],
  ['a last . leaves a trailing slash', '/api/rooms/.', '/api/rooms/'],
  ['a last .. leaves a trailing slash', '/api/rooms/1/..', '/api/rooms/'],
  ['%2e%2e is ..', '/api/x/%2e%2e/rooms/1', '/api/rooms/1'],
  ['/.%2e/ is ..', '/api/x/.%2e/rooms/1', '/api/rooms/1'],
  ['%2E. is ..', '/api/x/%2E./rooms/1', '/api/rooms/1'],
  ['%2e is .', '/api/%2e/rooms/1', '/api/rooms/1'],
  ['merged before dots, as nginx does', '/a//../b', '/b'],

  ['unreserved characters are decoded', '/api/rooms/%31%41%7e%2d%5F%2E', '/api/rooms/1A~-_.'],
  ['reserved characters stay encoded', '/api/rooms/a%3Fb%23c%20d%3B', '/api/rooms/a%3Fb%23c%20d%3B'],
  ['UTF-8 stays encoded', '/caf%C3%A9', '/caf%C3%A9'],

  ['the query is kept as is', '/api/rooms/1?x=%2F&y=a//b', '/api/rooms/1?x=%2F&y=a//b'],
  ['// and .. after ? are untouched', '/api//rooms/1?next=//a/../b', '/api/rooms/1?next=//a/../b'],
  ['%2F, \\ and # after ? are untouched', '/a/../b?p=%2F\\#x', '/b?p=%2F\\#x'],
  ['an empty query is kept', '/a//b?', '/a/b?'],
  ['a ? inside the query', '/a?b?c//d', '/a?b?c//d'],

  ['# in the path is refused', '/api/rooms/1#x', rejected('fragment')],
  ['# in a normal-looking path is refused', '/a#', rejected('fragment')],
  ['malformed percent-encoding', '/api/rooms/%E0%A4%A', rejected('bad-percent')],
  ['a lone % at the end', '/a%', rejected('bad-percent')],
  ['% with non-hex digits', '/a%zz', rejected('bad-percent')],
  ['% in the query is not looked at', '/a?%zz', '/a?%zz'],

  ['absolute-form becomes origin-form', 'http://legacy.example/api//rooms/1?x=1', '/api/rooms/1?x=1'],
  ['absolute-form, https, upper case', 'HTTPS://h:8443/api/rooms/1', '/api/rooms/1'],
  ['absolute-form without a path', 'http://legacy.example', '/'],
  ['absolute-form without a path, with a query', 'http://legacy.example?x', '/?x'],
  ['absolute-form with a fragment', 'http://h#x', rejected('fragment')],
  ['asterisk-form is kept', '*', '*'],
  ['a relative target is refused', 'api/rooms/1', rejected('not-origin-form')],
  ['a lone backslash is refused', '\\', rejected('not-origin-form')],
  ['another scheme is refused', 'ftp://h/api', rejected('not-origin-form')],
];

t.test('with the defaults (normalize, mergeSlashes, escapedSlashes: decode)', async (t) => {
  for (const [name, target, expected] of DEFAULT_CASES) t.same(normalizePath(target, DEFAULT), expected, `${name}: ${JSON.stringify(target)}`);
});

t.test('normalising twice changes nothing more', async (t) => {
  for (const options of [DEFAULT, REJECT, KEEP, NO_MERGE, NO_NORMALIZE, OFF]) {
    for (const [name, target] of DEFAULT_CASES) {
      const once = normalizePath(target, options);
      if (typeof once === 'string') t.equal(normalizePath(once, options), once, `${name} (${JSON.stringify(options)})`);
    }
  }
});

t.test('escapedSlashes: reject refuses every spelling of an escaped slash, and nothing else', async (t) => {
  const cases: Array<[string, Expected]> = [
    ['/api%2Frooms/1', rejected('escaped-slash')],
    ['/api%2frooms/1', rejected('escaped-slash')],
    ['/api%5Crooms/1', rejected('escaped-slash')],
    ['/api%5crooms/1', rejected('escaped-slash')],
    ['/api\\rooms/1', rejected('escaped-slash')],
    ['/api%252Frooms/1', '/api%252Frooms/1'],
    ['/api//rooms/../rooms/1', '/api/rooms/1'],
    ['/a?x=%2F\\', '/a?x=%2F\\'],
  ];
  for (const [target, expected] of cases) t.same(normalizePath(target, REJECT), expected, JSON.stringify(target));
});

t.test('escapedSlashes: keep leaves them inside their segment, as sent', async (t) => {
  const cases: Array<[string, Expected]> = [
    ['/api%2Frooms/1', '/api%2Frooms/1'],
    ['/api%2frooms/1', '/api%2frooms/1'],
    ['/api%5Crooms/1', '/api%5Crooms/1'],
    ['/api\\rooms/1', '/api\\rooms/1'],
    // not a dot segment once the escaped slash is part of it
    ['/a/..%2F/b', '/a/..%2F/b'],
    ['/a//%2e%2e/b', '/b'],
  ];
  for (const [target, expected] of cases) t.same(normalizePath(target, KEEP), expected, JSON.stringify(target));
});

t.test('mergeSlashes: false keeps empty segments; dot segments still count them', async (t) => {
  const cases: Array<[string, Expected]> = [
    ['//', '//'],
    ['/api//rooms/1', '/api//rooms/1'],
    ['/api%2F%2Frooms/1', '/api//rooms/1'],
    ['/a//..', '/a/'],
    ['/a//../b', '/a/b'],
    ['/../a', '/a'],
  ];
  for (const [target, expected] of cases) t.same(normalizePath(target, NO_MERGE), expected, JSON.stringify(target));
});

t.test('normalize: false leaves dot segments and encoded unreserved characters', async (t) => {
  const cases: Array<[string, Expected]> = [
    ['/api/x/../rooms/1', '/api/x/../rooms/1'],
    ['/api/x/%2e%2e/rooms/1', '/api/x/%2e%2e/rooms/1'],
    ['/api/%31', '/api/%31'],
    ['/api//rooms%2F1', '/api/rooms/1'],
    ['/a%zz', rejected('bad-percent')],
  ];
  for (const [target, expected] of cases) t.same(normalizePath(target, NO_NORMALIZE), expected, JSON.stringify(target));
});

t.test('with everything off, only what no request may carry is changed or refused', async (t) => {
  t.equal(normalizePath('/a//./../%2F\\%41', OFF), '/a//./../%2F\\%41');
  t.equal(normalizePath('http://h/a//b', OFF), '/a//b');
  t.same(normalizePath('/a#b', OFF), rejected('fragment'));
});

t.test('a normal path comes back unchanged, whatever its query holds', async (t) => {
  for (const target of ['/api/rooms/1', '/api/rooms/1?x=//y/../%2F#z', '/.well-known/a.b', '/']) t.equal(normalizePath(target, DEFAULT), target);
});

t.test('very long paths', async (t) => {
  const longest = `/api/rooms/${'a'.repeat(MAX_PATH_LENGTH - '/api/rooms/'.length)}`;
  t.equal(normalizePath(longest, DEFAULT), longest, `a path of ${MAX_PATH_LENGTH} bytes passes`);
  t.same(normalizePath(`${longest}b`, DEFAULT), rejected('too-long'), 'one byte more is refused');
  t.same(normalizePath(`${longest.replace('/rooms', '//rooms').slice(0, -1)}%2`, DEFAULT), rejected('too-long'), 'also when it needs work');
  t.equal(normalizePath(`${longest}?${'q'.repeat(20_000)}`, DEFAULT), `${longest}?${'q'.repeat(20_000)}`, 'the query does not count');
  t.equal(normalizePath(`/api//rooms/${'%41'.repeat(2000)}`, DEFAULT), `/api/rooms/${'A'.repeat(2000)}`);
  t.equal(normalizePath(`${'/..'.repeat(2000)}/api/rooms/1`, DEFAULT), '/api/rooms/1');
  t.equal(normalizePath(`/${'/'.repeat(8000)}x`, DEFAULT), '/x');

  // linear, not quadratic: the worst inputs of the limit's size are cheap
  const worst = ['%25', '/.', '//', '%2F', 'a/..'].map((unit) => `/${unit.repeat(Math.floor((MAX_PATH_LENGTH - 1) / unit.length))}`);
  const started = process.hrtime.bigint();
  for (let i = 0; i < 100; i++) for (const target of worst) normalizePath(target, DEFAULT);
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  t.ok(ms < 2_000, `500 worst-case 8 KB paths in ${ms.toFixed(0)} ms`);
});

t.test('encoded control characters are refused, wherever they stand in the path', async (t) => {
  for (const target of ['/api/rooms%0A', '/api/rooms%0a', '/api%00/rooms', '/%1F', '/a%7F', '/api/rooms%0D%0A']) {
    t.same(normalizePath(target, DEFAULT), { rejected: 'control-character' }, target);
  }
  t.equal(normalizePath('/api/rooms?q=%0A', DEFAULT), '/api/rooms?q=%0A', 'the query is not the path: kept as sent');
  t.equal(normalizePath('/api/rooms%20x', DEFAULT), '/api/rooms%20x', 'a space stays encoded and allowed');
});

t.test('each refusal has a catalogued error', async (t) => {
  const expected: Record<PathRejectionReason, [string, number]> = {
    'bad-percent': ['STRANGLER_ERR_BAD_REQUEST_TARGET', 400],
    'not-origin-form': ['STRANGLER_ERR_BAD_REQUEST_TARGET', 400],
    'escaped-slash': ['STRANGLER_ERR_PATH_ESCAPED_SLASH', 400],
    fragment: ['STRANGLER_ERR_PATH_FRAGMENT', 400],
    'too-long': ['STRANGLER_ERR_PATH_TOO_LONG', 414],
    'control-character': ['STRANGLER_ERR_PATH_CONTROL_CHARACTER', 400],
  };
  for (const [reason, [code, status]] of Object.entries(expected)) {
    const error = buildPathError({ rejected: reason as PathRejectionReason });
    t.match(error, { code, statusCode: status }, reason);
  }
});
