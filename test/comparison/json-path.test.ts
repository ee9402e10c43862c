import t from 'tap';
import { compilePath, compilePaths, findPathProblem, formatPath, formatPattern, parseConcretePath, walkPath } from '../../proxy/comparison/json-path.ts';

t.test('each kind of step matches the concrete paths it should, and only those', async (t) => {
  const cases: Array<[pattern: string, yes: string[], no: string[]]> = [
    ['$', ['$'], ['$.a']],
    ['$.generated_at', ['$.generated_at', "$['generated_at']"], ['$', '$.data.generated_at', '$.generated_at.x']],
    ["$['odd key'].x", ["$['odd key'].x"], ['$.odd.x']],
    ['$.data[3].owner.name', ['$.data[3].owner.name'], ['$.data[4].owner.name', '$.data.owner.name']],
    ['$.data[*].created_at', ['$.data[0].created_at', '$.data[41].created_at'], ['$.data.created_at', '$.data[0].x.created_at']],
    ['$.data.*', ['$.data.tags', '$.data[2]'], ['$.data', '$.data.tags[0]']],
    ['$..request_id', ['$.request_id', '$.data.request_id', '$.data[5].meta.request_id'], ['$.request_ids', '$.request_id.x']],
    ['$.data..[*].id', ['$.data[0].id', '$.data.members[2].id', '$.data.a.b[0].id'], ['$.data.id', '$.id']],
  ];
  for (const [pattern, yes, no] of cases) {
    const m = compilePath(pattern);
    for (const p of yes) t.ok(m.matches(p), `${pattern} matches ${p}`);
    for (const p of no) t.notOk(m.matches(p), `${pattern} does not match ${p}`);
  }
});

t.test('covers() also answers for descendants of a matched node', async (t) => {
  const m = compilePath('$.data.tags');
  t.ok(m.covers('$.data.tags[2]'));
  t.notOk(m.matches('$.data.tags[2]'));
  t.notOk(m.covers('$.data'));
});

t.test('concrete paths round-trip through formatting, odd keys included', async (t) => {
  const segments = ['data', 3, 'owner', 'first name', "it's", 'a.b', '3', 'x-request-id', 'naïve', ''];
  const path = formatPath(segments);
  t.equal(path, `$.data[3].owner['first name']['it\\'s']['a.b']['3'].x-request-id['naïve']['']`);
  t.same(parseConcretePath(path), segments);
  t.equal(formatPattern(['data', 3, 'tags', 0]), '$.data[*].tags[*]');
  t.ok(compilePath(formatPattern(['data', 3, 'first name'])).matches(formatPath(['data', 9, 'first name'])));
});

t.test('one automaton answers for many patterns, with the values of those that match', async (t) => {
  const root = compilePaths([
    ['$.data[*].score', 'tolerance'],
    ['$..request_id', 'ignore'],
    ['$.data[0].score', 'first'],
  ]);
  t.same(walkPath(root, ['data', 0, 'score']).values, ['tolerance', 'first']);
  t.same(walkPath(root, ['data', 1, 'score']).values, ['tolerance']);
  t.same(walkPath(root, ['data', 1, 'request_id']).values, ['ignore']);
  t.same(walkPath(root, ['other', 'x']).values, []);
  t.ok(walkPath(root, ['data', 1, 'score']).live, '$..request_id can still match below a score');
  const shallow = compilePaths([['$.data[*].score', 1]]);
  t.notOk(walkPath(shallow, ['data', 1, 'score']).live, 'without .. nothing can match below a score');
  t.notOk(walkPath(shallow, ['meta']).live, 'nor outside data');
  t.equal(walkPath(root, ['data', 1]), walkPath(root, ['data', 2]), 'states are shared, so transitions are cached once');
});

t.test('bad patterns are named with what to fix', async (t) => {
  t.match(findPathProblem('data.x'), /"data.x" is not a path: it must start with \$/);
  t.match(findPathProblem('$.data['), /expected \[n\], \[\*\] or \['key'\] at character 8/);
  t.match(findPathProblem('$.data[1'), /expected \] after the index/);
  t.match(findPathProblem("$['a"), /quoted key opened at character 3 is not closed/);
  t.match(findPathProblem('$..'), /ends with \.\./);
  t.match(findPathProblem('$.'), /a key name is missing at character 3/);
  t.match(findPathProblem('$ .a'), /unexpected " " at character 2/);
  t.equal(findPathProblem('$.data[*].created_at'), undefined);
  t.throws(() => compilePath('$.a['), { code: 'STRANGLER_ERR_COMPARISON_BAD_PATH' });
});
