import t from 'tap';
import { DEFAULT_RULES, resolveRules, validateRules, type RulesInput } from '../../proxy/comparison/rules.ts';

t.test('good rules have no problems and get defaults, frozen', async (t) => {
  const raw: RulesInput = {
    headers: ['Content-Type', 'ETag'],
    ignore: ['$.generated_at', '$.data[*].created_at', '$..request_id', "$['odd key']"],
    unordered: ['$.data.tags'],
    tolerance: { '$.data[*].score': 0.01 },
    normalize: { '$.data.name': ['trim', 'lowercase'], '$..updated_at': ['timestamp'] },
    html: { collapseWhitespace: true },
  };
  t.same(validateRules(raw), []);
  const rules = resolveRules(raw);
  t.same(rules.headers, ['content-type', 'etag']);
  t.ok(Object.isFrozen(rules) && Object.isFrozen(rules.normalize['$.data.name']));
  t.same(resolveRules({}), DEFAULT_RULES);
  t.same(DEFAULT_RULES, { headers: ['content-type'], ignore: [], unordered: [], tolerance: {}, normalize: {}, html: { collapseWhitespace: false } });
});

// one case per kind of bad rule: [what, raw, problem]
const BAD: Array<[string, unknown, RegExp]> = [
  ['rules that are not a mapping', ['$.a'], /^rules: must be a mapping with any of headers, ignore, unordered, tolerance, normalize, html$/],
  ['an unknown key, with a suggestion', { ignores: ['$.a'] }, /^ignores: unknown key "ignores"; did you mean "ignore"\?$/],
  ['headers that are not a list', { headers: 'content-type' }, /^headers: must be a list of header names/],
  ['a header name that is not a token', { headers: ['content type'] }, /^headers\[0\]: "content type" is not a header name$/],
  ['Date in headers', { headers: ['content-type', 'Date'] }, /^headers\[1\]: date changes on every response .* is never compared; remove it$/],
  ['Set-Cookie in headers', { headers: ['Set-Cookie'] }, /^headers\[0\]: set-cookie .* never compared/],
  ['a request id in headers', { headers: ['x-request-id'] }, /^headers\[0\]: x-request-id .* never compared/],
  ['ignore that is not a list of paths', { ignore: '$.a' }, /^ignore: must be a list of paths/],
  ['a bad ignore path', { ignore: ['$.ok', 'generated_at'] }, /^ignore\[1\]: "generated_at" is not a path: it must start with \$$/],
  ['a bad unordered path', { unordered: ['$.data[*'] }, /^unordered\[0\]: "\$.data\[\*" is not a path: expected \]/],
  ['tolerance that is not a mapping', { tolerance: 0.01 }, /^tolerance: must map paths to numbers/],
  ['a negative tolerance', { tolerance: { '$.score': -1 } }, /^tolerance\["\$.score"\]: -1 is not a tolerance; write a number >= 0/],
  ['a tolerance that is not a number', { tolerance: { '$.score': '1%' } }, /^tolerance\["\$.score"\]: "1%" is not a tolerance/],
  ['a bad tolerance path', { tolerance: { score: 1 } }, /^tolerance\["score"\]: "score" is not a path/],
  ['normalize that is not a mapping', { normalize: ['trim'] }, /^normalize: must map paths to lists of normalizers/],
  ['an empty normalizer list', { normalize: { '$.name': [] } }, /^normalize\["\$.name"\]: must be a non-empty list of normalizers \(trim, lowercase, timestamp, or \{ mask: <regex> \}\)$/],
  ['an unknown normalizer, with a suggestion', { normalize: { '$.name': ['trim', 'lowercse'] } }, /^normalize\["\$.name"\]\[1\]: unknown normalizer "lowercse"; did you mean "lowercase"\?; normalizers are trim, lowercase, timestamp, or \{ mask: <regex> \}$/],
  ['a mask that is not a regular expression', { normalize: { '$.html': [{ mask: '(?<=secret=[a-z' }] } }, /^normalize\["\$.html"\]\[0\]: mask "\(\?<=secret=\[a-z" is not a regular expression \(Invalid regular expression/],
  ['a mask matching the empty string', { normalize: { '$.html': [{ mask: '[0-9a-f]*' }] } }, /^normalize\["\$.html"\]\[0\]: mask "\[0-9a-f\]\*" matches the empty string; write one that matches only the varying token$/],
  ['a non-JSON body normalized other than by masks', { normalize: { body: [{ mask: 'x+' }, 'trim'] } }, /^normalize\["body"\]: a non-JSON body takes only masks/],
  ['a mask normalizer with another key', { normalize: { '$.html': [{ mask: 'x+', with: 'y' }] } }, /^normalize\["\$.html"\]\[0\]: unknown key "with"; a mask normalizer is \{ mask: <regex> \}$/],
  ['a bad normalize path', { normalize: { '$.': ['trim'] } }, /^normalize\["\$."\]: "\$." is not a path: a key name is missing/],
  ['html that is not a mapping', { html: true }, /^html: must be a mapping, e.g. \{ collapseWhitespace: true \}$/],
  ['an unknown html key', { html: { collapseWhitespaces: true } }, /^html.collapseWhitespaces: unknown key "collapseWhitespaces"; did you mean "collapseWhitespace"\?$/],
  ['collapseWhitespace that is not a boolean', { html: { collapseWhitespace: 'yes' } }, /^html.collapseWhitespace: must be true or false$/],
];

for (const [what, raw, problem] of BAD) {
  t.test(`rejects ${what}`, async (t) => {
    const problems = validateRules(raw);
    t.equal(problems.length, 1, problems.join('\n'));
    t.match(problems[0], problem);
  });
}

t.test('every problem is reported at once, and resolving refuses them all', async (t) => {
  const raw = { headers: ['date'], ignore: ['x'], tolerance: { '$.a': -1 }, html: { collapse: 1 } };
  t.equal(validateRules(raw).length, 4);
  t.throws(() => resolveRules(raw as never), { code: 'STRANGLER_ERR_COMPARISON_RULES_INVALID', message: /^comparison rules have 4 problems; nothing was applied:\n  - headers\[0\]/ });
});
