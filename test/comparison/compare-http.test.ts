import t from 'tap';
import { buildComparator, compareCandidateError } from '../../proxy/comparison/compare.ts';
import { errors } from '../../proxy/errors.ts';
import { jsonResponse, textResponse } from './responses.ts';

t.test('a different status is a mismatch, and the bodies are still compared', async (t) => {
  const result = buildComparator()(jsonResponse({ data: [] }), jsonResponse({ error: 'nope' }, { status: 404 }));
  t.equal(result.outcome, 'mismatch');
  t.same(result.differences[0], { path: 'status', kind: 'status', primary: 200, candidate: 404 });
  t.same(result.differences.slice(1).map((d) => d.path), ['$.data', '$.error']);
});

t.test('a candidate that answers 5xx where the primary did not is a candidate error', async (t) => {
  const compare = buildComparator();
  const failed = compare(jsonResponse({ data: [] }), jsonResponse({ error: 'boom' }, { status: 500 }));
  t.equal(failed.outcome, 'candidate-error');
  t.equal(failed.reason, 'the candidate answered 500 where the primary answered 200');
  t.ok(failed.differences.length, 'what differed is still listed');
  t.equal(compare(jsonResponse({ error: 'boom' }, { status: 500 }), jsonResponse({ error: 'boom' }, { status: 500 })).outcome, 'match', 'both failing alike is a match');
});

t.test('a candidate that gave no response is a candidate error with its reason', async (t) => {
  const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:3101'), { code: 'ECONNREFUSED' });
  t.same(compareCandidateError(refused), {
    outcome: 'candidate-error',
    differences: [],
    noise: [],
    reason: 'ECONNREFUSED: connect ECONNREFUSED 127.0.0.1:3101',
  });
  t.match(compareCandidateError(errors.upstreamTimeout('rooms', 'http://127.0.0.1:3101', 5000)).reason, /^STRANGLER_ERR_UPSTREAM_TIMEOUT: upstream "rooms"/);
  t.equal(compareCandidateError('hung up').reason, 'hung up');
});

t.test('content-type is compared on media type and charset, case-insensitively', async (t) => {
  const compare = buildComparator();
  const ct = (value: string) => jsonResponse({ ok: true }, { headers: { 'content-type': value } });
  t.equal(compare(ct('application/json; charset=utf-8'), ct('Application/JSON;charset="UTF-8"')).outcome, 'match');
  const charset = compare(ct('application/json; charset=utf-8'), ct('application/json; charset=iso-8859-1'));
  t.same(charset.differences, [{ path: 'headers.content-type', kind: 'header', primary: 'application/json; charset=utf-8', candidate: 'application/json; charset=iso-8859-1' }]);
  t.equal(compare(ct('application/json; charset=utf-8'), ct('application/json')).outcome, 'mismatch', 'a dropped charset is a difference');
  t.equal(compare(ct('application/json; charset=utf-8'), ct('text/plain; charset=utf-8')).outcome, 'mismatch');
});

t.test('Date, Set-Cookie and request ids are never compared; listing them is a rules problem', async (t) => {
  const a = jsonResponse({ ok: true }, { headers: { date: 'Mon, 01 Jan 2024 00:00:00 GMT', 'set-cookie': ['PHPSESSID=a; path=/'], 'x-request-id': 'a1' } });
  const b = jsonResponse({ ok: true }, { headers: { date: 'Tue, 02 Jan 2024 00:00:00 GMT', 'set-cookie': ['PHPSESSID=b; path=/', 'x=1'], 'x-request-id': 'b2' } });
  t.equal(buildComparator()(a, b).outcome, 'match');
  t.equal(buildComparator({ headers: ['content-type', 'cache-control'] })(a, b).outcome, 'match');
  t.throws(() => buildComparator({ headers: ['Date', 'set-cookie'] }), {
    code: 'STRANGLER_ERR_COMPARISON_RULES_INVALID',
    message: /headers\[0\]: date changes on every response .* never compared; remove it\n.*headers\[1\]: set-cookie/,
  });
});

t.test('other configured headers are compared by value, whatever the casing of their names', async (t) => {
  const compare = buildComparator({ headers: ['content-type', 'cache-control'] });
  const a = jsonResponse({}, { headers: { 'Cache-Control': 'no-store' } });
  t.equal(compare(a, jsonResponse({}, { headers: { 'cache-control': 'no-store' } })).outcome, 'match');
  t.same(compare(a, jsonResponse({})).differences, [{ path: 'headers.cache-control', kind: 'header', primary: 'no-store', candidate: undefined }]);
});

t.test('non-JSON bodies are compared byte for byte, with an excerpt where they first differ', async (t) => {
  const compare = buildComparator();
  const page = (s: string) => textResponse(s, 'text/plain');
  t.equal(compare(page('hello'), page('hello')).outcome, 'match');
  const result = compare(page('x'.repeat(100) + 'hello'), page('x'.repeat(100) + 'help!'));
  t.same(result.differences, [{ path: 'body', kind: 'body', primary: '…' + 'x'.repeat(37) + 'hello', candidate: '…' + 'x'.repeat(37) + 'help!' }]);
  t.equal(compare(page('abc'), page('abcd')).outcome, 'mismatch', 'a longer body differs');
  t.equal(compare(textResponse(Buffer.from([0, 1, 2]), 'application/octet-stream'), textResponse(Buffer.from([0, 1, 3]), 'application/octet-stream')).outcome, 'mismatch');
});

t.test('JSON is recognised by parsing when the content-type does not say so', async (t) => {
  const result = buildComparator({ headers: [] })(textResponse('{"a":1,"b":2}', 'text/plain'), textResponse('{ "b": 2, "a": 1 }', 'text/plain'));
  t.equal(result.outcome, 'match');
  const broken = buildComparator()(jsonResponse({ a: 1 }), textResponse('<h1>Fatal error</h1>', 'application/json; charset=utf-8'));
  t.same(broken.differences, [{ path: 'body', kind: 'body', primary: { a: 1 }, candidate: '<h1>Fatal error</h1>' }]);
});

t.test('HTML whitespace is collapsed only when the route asks for it', async (t) => {
  const a = textResponse('<ul>\n  <li>Quiet   corner</li>\n  <li>Math</li>\n</ul>\n', 'text/html; charset=utf-8');
  const b = textResponse('<ul><li>Quiet corner</li><li>Math</li></ul>', 'text/html; charset=utf-8');
  t.equal(buildComparator()(a, b).outcome, 'mismatch');
  const collapse = buildComparator({ html: { collapseWhitespace: true } });
  t.equal(collapse(a, b).outcome, 'match');
  const c = textResponse('<ul><li>Quiet corner</li><li>Maths</li></ul>', 'text/html; charset=utf-8');
  t.equal(collapse(a, c).outcome, 'mismatch', 'words still count');
  t.equal(collapse(textResponse('<p>a b</p>', 'text/html'), textResponse('<p>ab</p>', 'text/html')).outcome, 'mismatch', 'a space between words is kept');
});

t.test('a truncated body: what is safe is compared, otherwise the comparison is skipped with a reason', async (t) => {
  const compare = buildComparator();
  const full = 'x'.repeat(50) + 'tail';
  const cut = textResponse(full.slice(0, 30), 'text/plain', { truncated: true });

  const skipped = compare(cut, textResponse(full, 'text/plain'));
  t.equal(skipped.outcome, 'skipped');
  t.equal(skipped.reason, 'body compared only in its first 30 bytes: the primary body was cut at the capture cap, and the part both sides have is equal');

  const early = compare(cut, textResponse('x'.repeat(10) + 'y' + full.slice(11), 'text/plain'));
  t.equal(early.outcome, 'mismatch', 'a difference inside the known prefix is certain');

  const shorter = compare(cut, textResponse('x'.repeat(20), 'text/plain'));
  t.equal(shorter.outcome, 'mismatch', 'a complete body that ends before the cut one is certainly different');

  const json = compare({ ...jsonResponse({ a: 1 }), truncated: true }, jsonResponse({ a: 1 }));
  t.equal(json.outcome, 'skipped');
  t.match(json.reason, /body not compared: the primary body was cut at the capture cap, and JSON cannot be compared in part/);

  const status = compare({ ...jsonResponse({ a: 1 }), truncated: true }, jsonResponse({ a: 1 }, { status: 404 }));
  t.equal(status.outcome, 'mismatch', 'a status difference is certain even when the body cannot be compared');
  t.match(status.reason, /body not compared/);

  const html = buildComparator({ html: { collapseWhitespace: true } });
  const page = '<ul>\n  <li>Quiet   corner</li>\n  <li>Math</li>\n</ul>';
  const cutPage = textResponse(page.slice(0, 20), 'text/html', { truncated: true });
  t.equal(html(cutPage, textResponse('<ul><li>Quiet corner</li><li>Math</li></ul>', 'text/html')).outcome, 'skipped', 'collapsed prefixes agree');
  t.equal(html(cutPage, textResponse('<ul><li>Loud corner</li></ul>', 'text/html')).outcome, 'mismatch');
});
