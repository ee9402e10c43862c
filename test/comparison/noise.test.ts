import t from 'tap';
import { buildComparator } from '../../proxy/comparison/compare.ts';
import { createNoiseLearner, MAX_PATTERNS_PER_ROUTE } from '../../proxy/comparison/noise.ts';
import { jsonResponse, roomDetail, textResponse } from './responses.ts';

const TAGS = ['math', 'quiet', 'group', 'exam'];

/** Two answers of legacy to GET /api/rooms/42, as the Timing demo gives them. */
function twoLegacyAnswers() {
  return [
    jsonResponse(roomDetail({ generatedAt: '2024-05-01T10:00:00Z', requestId: '9f86d081884c7d65', tags: ['quiet', 'math', 'exam', 'group'] })),
    jsonResponse(roomDetail({ generatedAt: '2024-05-01T10:00:01Z', requestId: '2c26b46b68ffc68f', tags: ['group', 'exam', 'quiet', 'math'] })),
  ] as const;
}

t.test('noise learned from two legacy answers: timestamps and request ids as values, shuffled tags as order', async (t) => {
  const learner = createNoiseLearner();
  const [first, second] = twoLegacyAnswers();
  t.same(learner.observe('rooms-get', first, second).sort(), ['$.data.tags', '$.generated_at', '$.request_id']);

  t.same(learner.noiseFor('rooms-get'), ['$.generated_at', '$.request_id']);
  t.same(learner.unorderedFor('rooms-get'), ['$.data.tags'], 'order-only: suggested as unordered, never ignored');
  t.ok(learner.isNoise('rooms-get', '$.request_id'));
  t.notOk(learner.isNoise('rooms-get', '$.data.tags'), 'the tags themselves are not noise, only their order');
  t.notOk(learner.isNoise('rooms-get', '$.data.name'));
  t.notOk(learner.isNoise('rooms-list', '$.request_id'), 'noise belongs to its route');

  const report = learner.report('rooms-get');
  t.match(report, { route: 'rooms-get', observations: 1, skipped: 0, dropped: 0 });
  t.same(
    report.entries.find((e) => e.pattern === '$.generated_at'),
    {
      pattern: '$.generated_at',
      kind: 'value',
      count: 1,
      example: { path: '$.generated_at', first: '2024-05-01T10:00:00Z', second: '2024-05-01T10:00:01Z' },
      suggestion: 'ignore: ["$.generated_at"]',
    },
  );
  t.match(report.entries.find((e) => e.pattern === '$.data.tags'), {
    kind: 'order',
    example: { path: '$.data.tags', first: ['quiet', 'math', 'exam', 'group'], second: ['group', 'exam', 'quiet', 'math'] },
    suggestion: 'unordered: ["$.data.tags"]',
  });
});

t.test('with learned noise the service matches 100 %, and a renamed field still shows', async (t) => {
  const learner = createNoiseLearner();
  const compare = buildComparator({}, learner.optionsFor('rooms-get'));
  const service = (requestId: string, rename?: { from: string; to: string }) =>
    jsonResponse(roomDetail({ generatedAt: '2024-05-01T10:00:02Z', requestId, tags: ['exam', 'group', 'math', 'quiet'] }, rename));
  const [legacy, again] = twoLegacyAnswers();

  const before = compare(legacy, service('0123456789abcdef'));
  t.equal(before.outcome, 'mismatch', 'before learning, the noise is a mismatch');

  learner.observe('rooms-get', legacy, again);
  const results = Array.from({ length: 20 }, (_, i) => compare(legacy, service(i.toString(16).padStart(16, '0'))));
  t.equal(results.filter((r) => r.outcome === 'match').length, 20, '100 % match once noise is learned, without rebuilding the comparator');
  t.same(results[0].noise, ['$.generated_at', '$.request_id'], 'noise is reported as noise');
  t.same(results[0].differences, []);

  const renamed = compare(legacy, service('fedcba9876543210', { from: 'member_count', to: 'members_count' }));
  t.equal(renamed.outcome, 'mismatch');
  t.same(renamed.differences, [
    { path: '$.data.member_count', kind: 'missing', primary: 3 },
    { path: '$.data.members_count', kind: 'added', candidate: 3 },
  ]);

  const lostTag = compare(legacy, jsonResponse(roomDetail({ generatedAt: 'x', requestId: 'y', tags: ['exam', 'group', 'math'] })));
  t.same(lostTag.differences, [{ path: '$.data.tags[0]', kind: 'missing', primary: 'quiet' }], 'order noise does not hide a missing tag');
});

t.test('array indexes generalise, so each pattern is learned once and counted per observation', async (t) => {
  const learner = createNoiseLearner();
  const list = (seen: string[]) => jsonResponse({ data: seen.map((s, i) => ({ id: i, seen_at: s })) });
  learner.observe('rooms-list', list(['a', 'b', 'c']), list(['a', 'x', 'y']));
  learner.observe('rooms-list', list(['a', 'b']), list(['z', 'b']));
  learner.observe('rooms-list', list(['a']), list(['a']));
  const report = learner.report('rooms-list');
  t.equal(report.observations, 3);
  t.same(
    report.entries.map((e) => [e.pattern, e.count, e.example.path]),
    [['$.data[*].seen_at', 2, '$.data[1].seen_at']],
  );
  t.ok(learner.isNoise('rooms-list', '$.data[57].seen_at'));
});

t.test('pairs that cannot teach anything are skipped and counted; non-JSON differences are reported but not applied', async (t) => {
  const learner = createNoiseLearner();
  t.same(learner.observe('r', jsonResponse({ a: 1 }), jsonResponse({ a: 2 }, { status: 500 })), []);
  t.same(learner.observe('r', { ...jsonResponse({ a: 1 }), truncated: true }, jsonResponse({ a: 2 })), []);
  t.same(learner.noiseFor('r'), []);
  t.match(learner.report('r'), { observations: 0, skipped: 2, entries: [] });

  learner.observe('page', textResponse('<p>token 1</p>', 'text/html'), textResponse('<p>token 2</p>', 'text/html'));
  t.match(learner.report('page').entries, [{ pattern: 'body', kind: 'body', example: { first: '<p>token 1</p>', second: '<p>token 2</p>' } }]);
  t.same(learner.noiseFor('page'), [], 'a whole body is never ignored automatically');
});

t.test('the learned lists keep their identity until something new is learned', async (t) => {
  const learner = createNoiseLearner();
  learner.observe('r', jsonResponse({ a: 1 }), jsonResponse({ a: 2 }));
  const before = learner.noiseFor('r');
  learner.observe('r', jsonResponse({ a: 3 }), jsonResponse({ a: 4 }));
  t.equal(learner.noiseFor('r'), before, 'same array: comparators keep their compiled rules');
  learner.observe('r', jsonResponse({ a: 1, b: 1 }), jsonResponse({ a: 1, b: 2 }));
  t.not(learner.noiseFor('r'), before);
  t.same(learner.noiseFor('r'), ['$.a', '$.b']);
  t.ok(Object.isFrozen(learner.noiseFor('r')));
});

t.test('a route with ever-new keys stops learning at the bound and counts what it dropped', async (t) => {
  const learner = createNoiseLearner();
  for (let i = 0; i < MAX_PATTERNS_PER_ROUTE + 50; i++) learner.observe('r', jsonResponse({ [`k${i}`]: 1 }), jsonResponse({ [`k${i}`]: 2 }));
  const report = learner.report('r');
  t.equal(report.entries.length, MAX_PATTERNS_PER_ROUTE);
  t.equal(report.dropped, 50);
});
