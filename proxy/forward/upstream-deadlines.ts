import { performance } from 'node:perf_hooks';

/**
 * The deadlines of every request in flight, watched by one sweep instead of a timer per request.
 *
 * undici's own headersTimeout/bodyTimeout create a timer object per request that stays in its
 * timer list for up to a second after the request ends. At 8 000 req/s that is thousands of live
 * objects which every scavenge copies and then promotes: measured 99 KB surviving and 65 KB
 * promoted per scavenge with them, 14 KB and 6.5 KB without, and the parallel part of each
 * scavenge 0.38 → 0.21 ms. Here a request in flight is one link in a list (no allocation) and its
 * deadline a number.
 *
 * Deadlines are set by their owner from a fresh performance.now(), never from a clock kept here:
 * the sweep stops while nothing is watched, and a deadline counted from its last tick after an
 * idle gap passed early (a POST got 504 at once although the service ran it).
 */
export interface Deadline {
  /** performance.now() ms at which it passes (Infinity while it may not) */
  deadlineAt: number;
  /** the deadline passed */
  onDeadline(): void;
  /** list links, owned by UpstreamDeadlines */
  deadlinePrev: Deadline | null;
  deadlineNext: Deadline | null;
}

/** How often the late are looked for: a deadline passes between its time and one tick later. */
const TICK_MS = 25;

export class UpstreamDeadlines {
  private head: Deadline | null = null;
  private timer: NodeJS.Timeout | null = null;

  /** starts watching: the entry's onDeadline runs once performance.now() passes its deadlineAt */
  watch(entry: Deadline): void {
    if (this.head === null) this.timer ??= setInterval(() => this.sweep(), TICK_MS).unref();
    entry.deadlinePrev = null;
    entry.deadlineNext = this.head;
    if (this.head !== null) this.head.deadlinePrev = entry;
    this.head = entry;
  }

  /** stops watching; safe to call for an entry that is not watched */
  unwatch(entry: Deadline): void {
    const { deadlinePrev: prev, deadlineNext: next } = entry;
    if (prev === null && this.head !== entry) return;
    if (prev !== null) prev.deadlineNext = next;
    else this.head = next;
    if (next !== null) next.deadlinePrev = prev;
    entry.deadlinePrev = null;
    entry.deadlineNext = null;
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.head = null;
  }

  private sweep(): void {
    if (this.head === null) {
      clearInterval(this.timer!);
      this.timer = null;
      return;
    }
    const now = performance.now();
    let entry: Deadline | null = this.head;
    while (entry !== null) {
      const next: Deadline | null = entry.deadlineNext;
      if (now >= entry.deadlineAt) {
        this.unwatch(entry);
        entry.onDeadline();
      }
      entry = next;
    }
  }
}
