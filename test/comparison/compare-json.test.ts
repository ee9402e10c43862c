import t from 'tap';
import { buildComparator } from '../../proxy/comparison/compare.ts';
import type { RulesInput } from '../../proxy/comparison/rules.ts';
import { jsonResponse } from './responses.ts';

const compare = (a: unknown, b: unknown, rules: RulesInput = {}) => buildComparator(rules)(jsonResponse(a), jsonResponse(b));

t.test('key order never matters, at any depth', async (t) => {
  const result = compare(
    { data: { id: 1, owner: { id: 7, name: 'Ada' }, tags: ['a'] }, total: 1 },
    { total: 1, data: { tags: ['a'], owner: { name: 'Ada', id: 7 }, id: 1 } },
  );
  t.same(result, { outcome: 'match', differences: [], noise: [] });
});

t.test('a renamed field is missing at its old path and added at its new one, with example values', async (t) => {
  const result = compare({ data: [{ id: 1, member_count: 3 }] }, { data: [{ id: 1, members_count: 3 }] });
  t.equal(result.outcome, 'mismatch');
  t.same(result.differences, [
    { path: '$.data[0].member_count', kind: 'missing', primary: 3 },
    { path: '$.data[0].members_count', kind: 'added', candidate: 3 },
  ]);
});

t.test('changed values and changed types are told apart', async (t) => {
  const result = compare({ id: 1, name: 'Ada', owner: null }, { id: '1', name: 'Grace', owner: null });
  t.same(result.differences, [
    { path: '$.id', kind: 'type', primary: 1, candidate: '1' },
    { path: '$.name', kind: 'changed', primary: 'Ada', candidate: 'Grace' },
  ]);
});

t.test('array order matters by default', async (t) => {
  const result = compare({ tags: ['math', 'quiet', 'group'] }, { tags: ['quiet', 'math', 'group'] });
  t.equal(result.outcome, 'mismatch');
  t.same(result.differences.map((d) => d.path), ['$.tags[0]', '$.tags[1]']);
});

t.test('array order does not matter on unordered paths, but the elements still do', async (t) => {
  const rules = { unordered: ['$.data[*].tags', '$.data'] };
  const a = { data: [{ id: 1, tags: ['math', 'quiet'] }, { id: 2, tags: [] }] };
  t.equal(compare(a, { data: [{ id: 2, tags: [] }, { id: 1, tags: ['quiet', 'math'] }] }, rules).outcome, 'match');

  const missing = compare({ tags: ['math', 'quiet', 'group'] }, { tags: ['group', 'math'] }, { unordered: ['$.tags'] });
  t.same(missing.differences, [{ path: '$.tags[1]', kind: 'missing', primary: 'quiet' }]);

  const changed = compare({ tags: ['math', 'quiet'] }, { tags: ['quiet', 'maths'] }, { unordered: ['$.tags'] });
  t.same(changed.differences, [{ path: '$.tags[0]', kind: 'changed', primary: 'math', candidate: 'maths' }]);

  // duplicates count: a multiset, not a set
  t.equal(compare({ tags: ['a', 'a', 'b'] }, { tags: ['a', 'b', 'b'] }, { unordered: ['$.tags'] }).outcome, 'mismatch');
});

t.test('unordered elements pair up despite ignored fields and numeric tolerance inside them', async (t) => {
  const rules = { unordered: ['$.rooms'], ignore: ['$.rooms[*].seen_at'], tolerance: { '$.rooms[*].score': 0.01 } };
  const result = compare(
    { rooms: [{ id: 1, score: 0.5, seen_at: 'x' }, { id: 2, score: 0.7, seen_at: 'y' }] },
    { rooms: [{ id: 2, score: 0.705, seen_at: 'z' }, { id: 1, score: 0.5, seen_at: 'x' }] },
    rules,
  );
  t.equal(result.outcome, 'match');
  t.same(result.noise, ['$.rooms[1].seen_at'], 'noise is reported at the primary index');

  const inOrder = compare({ rooms: [{ id: 1, seen_at: 'x' }, { id: 2 }] }, { rooms: [{ id: 1, seen_at: 'y' }, { id: 2 }] }, rules);
  t.same(inOrder, { outcome: 'match', differences: [], noise: ['$.rooms[0].seen_at'] }, 'arrays already in order take the short path, noise included');
  const reordered = compare({ rooms: [{ id: 1 }, { id: 2, score: 1 }] }, { rooms: [{ id: 2, score: 2 }, { id: 3 }] }, rules);
  t.same(
    reordered.differences,
    [
      { path: '$.rooms[0].id', kind: 'changed', primary: 1, candidate: 3 },
      { path: '$.rooms[1].score', kind: 'changed', primary: 1, candidate: 2 },
    ],
    'leftovers pair up most alike first, and nothing from the abandoned in-order attempt leaks in',
  );
});

t.test('ignore paths with [*] and .. are reported as noise, not differences', async (t) => {
  const rules = { ignore: ['$.data[*].created_at', '$..request_id', '$.generated_at'] };
  const result = compare(
    { data: [{ id: 1, created_at: '2024-01-01T00:00:00Z', meta: { request_id: 'a' } }], generated_at: 'x', request_id: 'r1' },
    { data: [{ id: 1, created_at: '2024-01-02T00:00:00Z', meta: { request_id: 'b' } }], generated_at: 'y', request_id: 'r2' },
    rules,
  );
  t.equal(result.outcome, 'match');
  t.same(result.noise.sort(), ['$.data[0].created_at', '$.data[0].meta.request_id', '$.generated_at', '$.request_id']);

  const absent = compare({ data: [], generated_at: 'x' }, { data: [] }, rules);
  t.same(absent, { outcome: 'match', differences: [], noise: ['$.generated_at'] }, 'a noise field missing on one side is noise too');

  const real = compare({ data: [{ id: 1, created_at: 'a' }] }, { data: [{ id: 2, created_at: 'b' }] }, rules);
  t.same(real.differences, [{ path: '$.data[0].id', kind: 'changed', primary: 1, candidate: 2 }], 'the rest of the element is still compared');
});

t.test('numeric tolerance: within and at the boundary match, just outside does not', async (t) => {
  const rules = { tolerance: { '$.data[*].score': 0.01 } };
  const at = (a: number, b: number) => compare({ data: [{ score: a }] }, { data: [{ score: b }] }, rules).outcome;
  t.equal(at(1, 1.005), 'match', 'within');
  t.equal(at(1, 1.01), 'match', 'exactly at the tolerance, despite binary rounding');
  t.equal(at(1.01, 1), 'match', 'in both directions');
  t.equal(at(1, 1.0101), 'mismatch', 'just outside');
  t.equal(at(1, 0.9899), 'mismatch', 'just outside below');
  t.equal(compare({ other: 1 }, { other: 1.001 }, rules).outcome, 'mismatch', 'other paths stay exact');
  t.equal(compare({ data: [{ score: '1' }] }, { data: [{ score: 1 }] }, rules).outcome, 'mismatch', 'tolerance does not bridge types');
});

t.test('timestamp normalizer: any two timestamps match, a timestamp and anything else do not', async (t) => {
  const rules: RulesInput = { normalize: { '$..created_at': ['timestamp'] } };
  t.equal(compare({ created_at: '2024-03-01T09:30:00Z' }, { created_at: '2025-12-31T23:59:59.123+02:00' }, rules).outcome, 'match');
  t.equal(compare({ created_at: '2024-03-01 09:30:00' }, { created_at: 1709285400 }, rules).outcome, 'match', 'database format vs epoch seconds');
  t.equal(compare({ created_at: 1709285400000 }, { created_at: '2024-03-01' }, rules).outcome, 'match', 'epoch ms vs date');
  const hello = compare({ created_at: '2024-03-01T09:30:00Z' }, { created_at: 'hello' }, rules);
  t.same(hello.differences, [{ path: '$.created_at', kind: 'changed', primary: '2024-03-01T09:30:00Z', candidate: 'hello' }], 'original values are reported');
  t.equal(compare({ created_at: '2024-03-01T09:30:00Z' }, { created_at: null }, rules).outcome, 'mismatch');
  t.equal(compare({ created_at: '2024-13-01T09:30:00Z' }, { created_at: '2024-03-01T09:30:00Z' }, rules).outcome, 'mismatch', 'month 13 is no timestamp');
  t.equal(compare({ created_at: 42 }, { created_at: 43 }, rules).outcome, 'mismatch', 'a small count is no epoch');
});

t.test('trim and lowercase normalizers', async (t) => {
  t.equal(compare({ name: '  Ada ' }, { name: 'Ada' }, { normalize: { '$.name': ['trim'] } }).outcome, 'match');
  t.equal(compare({ name: 'ADA' }, { name: 'ada' }, { normalize: { '$.name': ['lowercase'] } }).outcome, 'match');
  t.equal(compare({ name: ' ADA' }, { name: 'ada' }, { normalize: { '$.name': ['trim', 'lowercase'] } }).outcome, 'match');
  t.equal(compare({ name: ' ADA' }, { name: 'ada' }, { normalize: { '$.name': ['lowercase'] } }).outcome, 'mismatch', 'only what is asked for');
  t.equal(compare({ tags: ['Math'] }, { tags: ['math'] }, { normalize: { '$.tags[*]': ['lowercase'] } }).outcome, 'match');
});

t.test('long values are cut to a preview in reports', async (t) => {
  const long = 'x'.repeat(5000);
  const result = compare({ a: long, b: { list: Array.from({ length: 500 }, (_, i) => i) } }, { a: long + 'y', b: 1 });
  const [a, b] = result.differences;
  t.equal(a.path, '$.a');
  t.equal((a.primary as string).length, 201);
  t.match(a.primary, /^x+…$/);
  t.match(b.primary, /^\{"list":\[0,1,2,.*…$/);
  t.ok((b.primary as string).length <= 201);
});

t.test('a body with thousands of differences lists the first 100 and counts the rest', async (t) => {
  const result = compare(Array.from({ length: 1000 }, (_, i) => i), Array.from({ length: 1000 }, (_, i) => -i - 1));
  t.equal(result.outcome, 'mismatch');
  t.equal(result.differences.length, 100);
  t.same(result.omitted, { differences: 900, noise: 0 });
});
