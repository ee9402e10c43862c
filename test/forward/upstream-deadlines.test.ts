import { performance } from 'node:perf_hooks';
import t from 'tap';
import { UpstreamDeadlines, type Deadline } from '../../proxy/forward/upstream-deadlines.ts';

function entry(deadlines: UpstreamDeadlines, inMs: number, expired: string[], name: string): Deadline & { expiredAt?: number } {
  const e: Deadline & { expiredAt?: number } = {
    deadlineAt: performance.now() + inMs,
    deadlinePrev: null,
    deadlineNext: null,
    onDeadline() {
      e.expiredAt = performance.now();
      expired.push(name);
    },
  };
  return e;
}

t.test('only what is still watched expires, never before its deadline, each once', async (t) => {
  const deadlines = new UpstreamDeadlines();
  t.teardown(() => deadlines.close());
  const expired: string[] = [];
  const started = performance.now();
  const first = entry(deadlines, 60, expired, 'first');
  const middle = entry(deadlines, 60, expired, 'middle');
  const last = entry(deadlines, 60, expired, 'last');
  const later = entry(deadlines, 400, expired, 'later');
  for (const e of [first, middle, last, later]) deadlines.watch(e);
  deadlines.unwatch(middle); // from the middle of the list
  deadlines.unwatch(middle); // twice: no effect
  deadlines.unwatch(later); // the head
  await new Promise((resolve) => setTimeout(resolve, 200));
  t.same(expired.sort(), ['first', 'last'], 'the two still watched expired, the two unwatched did not');
  for (const e of [first, last]) t.ok(e.expiredAt! - started >= 60, `not early (${(e.expiredAt! - started).toFixed(0)} ms for 60)`);
  await new Promise((resolve) => setTimeout(resolve, 100));
  t.equal(expired.length, 2, 'nothing expires twice');
});

t.test('a deadline moved to Infinity does not pass until it is set again', async (t) => {
  const deadlines = new UpstreamDeadlines();
  t.teardown(() => deadlines.close());
  const expired: string[] = [];
  const paused = entry(deadlines, 30, expired, 'paused');
  deadlines.watch(paused);
  paused.deadlineAt = Infinity;
  await new Promise((resolve) => setTimeout(resolve, 120));
  t.same(expired, [], 'held while its deadline is Infinity');
  paused.deadlineAt = performance.now() + 30;
  await new Promise((resolve) => setTimeout(resolve, 150));
  t.same(expired, ['paused'], 'passes once set again');
});
