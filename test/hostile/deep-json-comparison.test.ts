import t from 'tap';
import { buildComparator } from '../../proxy/comparison/compare.ts';
import { createNoiseLearner } from '../../proxy/comparison/noise.ts';
import type { CapturedResponse } from '../../proxy/comparison/types.ts';
import { startShadowFixture } from '../shadow/shadow-fixture.ts';

/**
 * Regression: a JSON answer 5 000 levels deep overflowed the stack of the comparison (a
 * RangeError out of the comparator, so the shadow run lost the comparison). Beyond
 * MAX_JSON_DEPTH (64) the bodies are not compared and the outcome says so.
 */

/** `depth` nested arrays around leaf: deepText(2, 1) is [[1]]. */
const deepText = (depth: number, leaf: unknown) => '['.repeat(depth) + JSON.stringify(leaf) + ']'.repeat(depth);
const answer = (text: string): CapturedResponse => ({ status: 200, headers: { 'content-type': 'application/json' }, body: Buffer.from(text) });

t.test('two 5 000-deep answers that differ at the bottom: skipped with the reason, no throw', async (t) => {
  const compare = buildComparator();
  const result = compare(answer(deepText(5000, 'legacy')), answer(deepText(5000, 'service')));
  t.equal(result.outcome, 'skipped');
  t.same(result.differences, []);
  t.match(result.reason, /^body not compared: both bodies are JSON nested more than 64 levels deep/);

  const oneSide = compare(answer('{"id":1}'), answer(deepText(5000, 1)));
  t.equal(oneSide.outcome, 'skipped', 'one deep side is enough');
  t.match(oneSide.reason, /the candidate body is JSON nested more than 64 levels deep/);

  const statusToo = compare(answer(deepText(5000, 1)), { ...answer(deepText(5000, 2)), status: 404 });
  t.equal(statusToo.outcome, 'mismatch', 'what can still be compared still counts');
  t.same(statusToo.differences.map((d) => d.path), ['status']);
  t.match(statusToo.reason, /not compared/);

  t.equal(compare(answer(deepText(5000, 1)), answer(deepText(5000, 1))).outcome, 'match', 'the same bytes match without being walked');
});

t.test('at the bound the comparison still walks the whole body and finds the real difference; one level more is skipped', async (t) => {
  const compare = buildComparator({ ignore: ['$..request_id'] });
  // 63 arrays around an object: 64 levels
  const atBound = compare(answer(deepText(63, { name: 'Ada', request_id: 'a' })), answer(deepText(63, { name: 'Grace', request_id: 'b' })));
  t.equal(atBound.outcome, 'mismatch');
  const inner = '$' + '[0]'.repeat(63);
  t.same(atBound.differences, [{ path: `${inner}.name`, kind: 'changed', primary: 'Ada', candidate: 'Grace' }]);
  t.same(atBound.noise, [`${inner}.request_id`], 'rules apply at the bound too');

  const unordered = buildComparator({ unordered: ['$..*'] })(answer(deepText(63, [1, 2])), answer(deepText(63, [2, 3])));
  t.equal(unordered.outcome, 'mismatch', 'the multiset comparison too, in linear time');
  t.same(unordered.differences.map((d) => d.kind), ['changed']);

  const beyond = compare(answer(deepText(64, { name: 'Ada' })), answer(deepText(64, { name: 'Grace' })));
  t.equal(beyond.outcome, 'skipped');
  t.match(beyond.reason, /nested more than 64 levels deep/);
});

t.test('noise learning skips a pair of 5 000-deep legacy answers instead of throwing', async (t) => {
  const learner = createNoiseLearner();
  t.same(learner.observe('rooms', answer(deepText(5000, 1)), answer(deepText(5000, 2))), []);
  t.match(learner.report('rooms'), { observations: 0, skipped: 1, entries: [] });
});

t.test('a shadow run over two 5 000-deep answers: the client gets legacy, the comparison is stored as skipped', async (t) => {
  const deep = (leaf: string) => (_req: unknown, res: import('node:http').ServerResponse) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(deepText(5000, leaf));
  };
  const fx = await startShadowFixture(t, { legacy: deep('legacy'), candidate: deep('service') });
  const res = await fetch(`${fx.proxy.url}/api/rooms/42`);
  t.equal(res.status, 200);
  t.equal(await res.text(), deepText(5000, 'legacy'), "legacy's answer, untouched");
  t.same(await fx.outcomes(), { skipped: 1 });
  t.same(await fx.store.skipReasons({}), [{ route: 'rooms', reason: 'body not compared', n: 1 }], 'counted under its reason');
});
