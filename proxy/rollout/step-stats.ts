/**
 * What a rollout step is judged on: per route and target, requests, 5xx answers and a latency
 * sample since the step began. Fed by every finished request; reset when a step changes.
 */
export interface StepStats {
  record(route: string, target: string, status: number, ms: number): void;
  /** the numbers since the last reset of this route */
  read(route: string): Record<string, TargetStats>;
  reset(route: string): void;
}

export interface TargetStats {
  requests: number;
  errors: number;
  /** p99 latency in ms of the sampled requests; null without any */
  p99Ms: number | null;
}

/** Latencies kept per route and target (reservoir sampling beyond it): bounded memory at any rate. */
const RESERVOIR = 2048;

interface Bucket {
  requests: number;
  errors: number;
  sample: Float64Array;
  sampled: number;
}

export function createStepStats(random: () => number = Math.random): StepStats {
  const routes = new Map<string, Map<string, Bucket>>();
  return {
    record(route, target, status, ms) {
      let targets = routes.get(route);
      if (!targets) routes.set(route, (targets = new Map()));
      let b = targets.get(target);
      if (!b) targets.set(target, (b = { requests: 0, errors: 0, sample: new Float64Array(RESERVOIR), sampled: 0 }));
      b.requests++;
      if (status >= 500) b.errors++;
      if (b.sampled < RESERVOIR) b.sample[b.sampled++] = ms;
      else {
        const i = Math.floor(random() * b.requests);
        if (i < RESERVOIR) b.sample[i] = ms;
      }
    },
    read(route) {
      const out: Record<string, TargetStats> = {};
      for (const [target, b] of routes.get(route) ?? []) {
        let p99Ms: number | null = null;
        if (b.sampled > 0) {
          const sorted = b.sample.slice(0, b.sampled).sort();
          p99Ms = sorted[Math.min(sorted.length - 1, Math.ceil(sorted.length * 0.99) - 1)];
        }
        out[target] = { requests: b.requests, errors: b.errors, p99Ms };
      }
      return out;
    },
    reset(route) {
      routes.delete(route);
    },
  };
}
