/**
 * Progress of a long command (replay): on a terminal one line redrawn in place, at most every
 * REDRAW_MS; elsewhere (CI logs, files) one plain line per 10 % step, so logs show progress
 * without a line per request.
 */

const REDRAW_MS = 100;
const BAR_CELLS = 20;
const STEPS = 10;

export interface ProgressOptions {
  /** how many ticks make 100 % */
  total: number;
  label: string;
  /** default process.stderr, so progress never mixes with a command's output */
  stream?: NodeJS.WriteStream | NodeJS.WritableStream;
  /** default: whether stream is a terminal */
  isTTY?: boolean;
  /** milliseconds clock; tests pass a fake one */
  now?: () => number;
}

export interface Progress {
  /** one unit done; outcome (match, mismatch …) is counted and shown */
  tick(outcome?: string): void;
  /** draws the final state and ends the line; later calls do nothing */
  done(): void;
}

export function createProgress(options: ProgressOptions): Progress {
  const { total, label } = options;
  const stream = options.stream ?? process.stderr;
  const isTTY = options.isTTY ?? (stream as NodeJS.WriteStream).isTTY === true;
  const now = options.now ?? Date.now;
  const started = now();
  const outcomes = new Map<string, number>();
  let count = 0;
  let lastDraw = -Infinity;
  let lastStep = 0;
  let printed = -1;
  let finished = false;

  const line = (bar: boolean): string => {
    const elapsed = (now() - started) / 1000;
    const ratio = total > 0 ? Math.min(count / total, 1) : 1;
    const parts = [label];
    if (bar) {
      const filled = Math.round(ratio * BAR_CELLS);
      parts.push(`[${'#'.repeat(filled)}${'-'.repeat(BAR_CELLS - filled)}]`);
    }
    parts.push(`${count}/${total}`, `${Math.floor(ratio * 100)}%`);
    const rate = elapsed > 0 ? count / elapsed : undefined;
    parts.push(rate === undefined ? '-/s' : `${rate.toFixed(1)}/s`);
    if (count < total) parts.push(`eta ${rate ? formatDuration((total - count) / rate) : '-'}`);
    else parts.push(`in ${formatDuration(elapsed)}`);
    for (const [outcome, n] of outcomes) parts.push(`${outcome} ${n}`);
    return parts.join(' ');
  };

  const draw = () => {
    let text = line(true);
    const columns = (stream as NodeJS.WriteStream).columns;
    if (columns > 1 && text.length >= columns) text = text.slice(0, columns - 1);
    // \x1b[K clears what a longer previous line left on the right
    stream.write(`\r${text}\x1b[K`);
    lastDraw = now();
  };

  const print = () => {
    stream.write(`${line(false)}\n`);
    printed = count;
  };

  return {
    tick(outcome) {
      if (finished) return;
      count++;
      if (outcome !== undefined) outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
      if (isTTY) {
        if (now() - lastDraw >= REDRAW_MS || count === total) draw();
        return;
      }
      const step = total > 0 ? Math.floor((Math.min(count, total) * STEPS) / total) : 0;
      if (step > lastStep) {
        lastStep = step;
        print();
      }
    },
    done() {
      if (finished) return;
      finished = true;
      if (isTTY) {
        draw();
        stream.write('\n');
      } else if (printed !== count) print();
    },
  };
}

/** 5s, 2m05s, 1h02m */
function formatDuration(seconds: number): string {
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}
