import t from 'tap';
import { Writable } from 'node:stream';
import { createProgress } from '../../proxy/cli/progress.ts';

function capture(): { stream: Writable; writes: string[] } {
  const writes: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, callback) {
      writes.push(String(chunk));
      callback();
    },
  });
  return { stream, writes };
}

function fakeClock(start = 1_000_000): { now: () => number; advance: (ms: number) => void } {
  let time = start;
  return { now: () => time, advance: (ms) => (time += ms) };
}

t.test('on a terminal one line is redrawn in place, at most every 100 ms', async (t) => {
  const { stream, writes } = capture();
  const clock = fakeClock();
  const progress = createProgress({ total: 100, label: 'replay', stream, isTTY: true, now: clock.now });

  clock.advance(50);
  progress.tick('match');
  t.equal(writes.length, 1, 'the first tick draws');
  t.equal(writes[0], '\rreplay [--------------------] 1/100 1% 20.0/s eta 5s match 1\x1b[K');

  for (let i = 0; i < 5; i++) {
    clock.advance(10);
    progress.tick('match');
  }
  t.equal(writes.length, 1, 'no redraw within 100 ms');

  for (let i = 0; i < 36; i++) {
    clock.advance(10);
    progress.tick(i < 34 ? 'match' : 'mismatch');
  }
  t.ok(writes.length > 1 && writes.length <= 5, `redrawn a few times, not per tick (${writes.length})`);
  t.ok(writes.every((w) => w.startsWith('\r') && !w.includes('\n')), 'never a new line while running');
  t.match(writes[writes.length - 1], '41/100 41%', 'the last redraw was 100 ms after the one before');

  progress.done();
  t.equal(writes[writes.length - 1], '\n', 'done ends the line');
  t.equal(writes[writes.length - 2], '\rreplay [########------------] 42/100 42% 91.3/s eta 1s match 40 mismatch 2\x1b[K', 'after drawing the final state');
  progress.done();
  progress.tick('match');
  t.equal(writes[writes.length - 1], '\n', 'nothing after done');
});

t.test('the last tick is always drawn', async (t) => {
  const { stream, writes } = capture();
  const clock = fakeClock();
  const progress = createProgress({ total: 3, label: 'replay', stream, isTTY: true, now: clock.now });
  for (let i = 0; i < 3; i++) progress.tick();
  clock.advance(1500);
  t.match(writes[writes.length - 1], '[####################] 3/3 100%');
});

t.test('without a terminal a plain line is printed at every 10 % step', async (t) => {
  const { stream, writes } = capture();
  const clock = fakeClock();
  const progress = createProgress({ total: 200, label: 'replay rooms', stream, isTTY: false, now: clock.now });
  for (let i = 1; i <= 200; i++) {
    clock.advance(100);
    progress.tick(i % 20 === 0 ? 'mismatch' : 'match');
  }
  progress.done();
  t.equal(writes.length, 10, 'one line per 10 %, none more at done');
  t.ok(writes.every((w) => w.endsWith('\n') && !w.includes('\r') && !w.includes('\x1b')), 'plain lines');
  t.equal(writes[0], 'replay rooms 20/200 10% 10.0/s eta 18s match 19 mismatch 1\n');
  t.equal(writes[9], 'replay rooms 200/200 100% 10.0/s in 20s match 190 mismatch 10\n');
});

t.test('without a terminal done prints where a run stopped short', async (t) => {
  const { stream, writes } = capture();
  const clock = fakeClock();
  const progress = createProgress({ total: 100, label: 'replay', stream, isTTY: false, now: clock.now });
  for (let i = 0; i < 15; i++) {
    clock.advance(1000);
    progress.tick();
  }
  progress.done();
  t.same(writes, ['replay 10/100 10% 1.0/s eta 1m30s\n', 'replay 15/100 15% 1.0/s eta 1m25s\n']);
});

t.test('an empty run still reports once', async (t) => {
  const { stream, writes } = capture();
  const progress = createProgress({ total: 0, label: 'replay', stream, isTTY: false, now: fakeClock().now });
  progress.done();
  t.same(writes, ['replay 0/0 100% -/s in 0s\n']);
});
