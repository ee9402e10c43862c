import type { ChildProcess } from 'node:child_process';
import { constants, PerformanceObserver, type PerformanceEntry } from 'node:perf_hooks';
import { nextMessage } from './ipc.ts';

/**
 * Garbage-collection pauses of a bench child (the proxy, the Node floor), so the fixed-rate
 * table can say how much of a row's tail is the collector: at a fixed rate, every request that
 * arrives during a pause waits for it, and for the backlog it leaves.
 *
 * The child counts the pauses V8 reports (perf_hooks 'gc' entries: a scavenge's whole pause; for
 * a full collection its final atomic pause, not the incremental steps before it) and answers
 * the parent's `gc-pauses` message with what it saw since the previous one.
 */
export interface GcPauses {
  /** young-generation collections (scavenges) */
  minor: number;
  minorMs: number;
  /** full (mark-compact) collections */
  major: number;
  majorMs: number;
  longestMs: number;
}

const REQUEST = 'gc-pauses';

const empty = (): GcPauses => ({ minor: 0, minorMs: 0, major: 0, majorMs: 0, longestMs: 0 });

/** In the child: observe pauses and answer the parent's requests over IPC. */
export function answerGcPauses(): void {
  let seen = empty();
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      const kind = (entry as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind;
      if (kind === constants.NODE_PERFORMANCE_GC_MINOR) {
        seen.minor++;
        seen.minorMs += entry.duration;
      } else if (kind === constants.NODE_PERFORMANCE_GC_MAJOR) {
        seen.major++;
        seen.majorMs += entry.duration;
      } else continue;
      if (entry.duration > seen.longestMs) seen.longestMs = entry.duration;
    }
  }).observe({ entryTypes: ['gc'] });
  process.on('message', (message: unknown) => {
    if ((message as { type?: string } | null)?.type !== REQUEST) return;
    process.send!({ type: REQUEST, pauses: seen });
    seen = empty();
  });
}

/** In the parent: the child's pauses since the last call (the first call only starts the count). */
export async function readGcPauses(child: ChildProcess): Promise<GcPauses> {
  const reply = nextMessage<{ type: string; pauses: GcPauses }>(child, 'the bench child (gc pauses)', 5000);
  child.send({ type: REQUEST });
  return (await reply).pauses;
}

/** Sums rounds: counts and pause time add up, the longest pause is the longest of all. */
export function addGcPauses(all: readonly GcPauses[]): GcPauses {
  return all.reduce(
    (sum, p) => ({ minor: sum.minor + p.minor, minorMs: sum.minorMs + p.minorMs, major: sum.major + p.major, majorMs: sum.majorMs + p.majorMs, longestMs: Math.max(sum.longestMs, p.longestMs) }),
    empty(),
  );
}
