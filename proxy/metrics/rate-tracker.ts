/**
 * Requests per second per route and target over the last minute, for `GET /routes` and
 * `strangler status` (Prometheus has the full series; this is the at-a-glance number).
 * One counter per second in a 60-slot ring per route and target.
 */
export interface RateTracker {
  record(route: string, target: string): void;
  /** target → requests per second over the last 60 s */
  rates(route: string): Record<string, number>;
}

const SLOTS = 60;

interface Ring {
  slots: Uint32Array;
  seconds: Float64Array;
}

export function createRateTracker(now: () => number = Date.now): RateTracker {
  // route → target → ring: two lookups of strings the request already holds, no key built per request
  const rings = new Map<string, Map<string, Ring>>();
  return {
    record(route, target) {
      const second = Math.floor(now() / 1000);
      let targets = rings.get(route);
      if (!targets) rings.set(route, (targets = new Map()));
      let ring = targets.get(target);
      if (!ring) targets.set(target, (ring = { slots: new Uint32Array(SLOTS), seconds: new Float64Array(SLOTS) }));
      const i = second % SLOTS;
      if (ring.seconds[i] !== second) {
        ring.seconds[i] = second;
        ring.slots[i] = 0;
      }
      ring.slots[i]++;
    },
    rates(route) {
      const out: Record<string, number> = {};
      const second = Math.floor(now() / 1000);
      for (const [target, ring] of rings.get(route) ?? []) {
        let n = 0;
        for (let i = 0; i < SLOTS; i++) if (second - ring.seconds[i] < SLOTS) n += ring.slots[i];
        out[target] = Math.round((n / SLOTS) * 100) / 100;
      }
      return out;
    },
  };
}
