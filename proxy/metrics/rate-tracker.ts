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

export function createRateTracker(now: () => number = Date.now): RateTracker {
  const rings = new Map<string, { slots: Uint32Array; seconds: Float64Array }>();
  const ringFor = (key: string) => {
    let ring = rings.get(key);
    if (!ring) rings.set(key, (ring = { slots: new Uint32Array(SLOTS), seconds: new Float64Array(SLOTS) }));
    return ring;
  };
  return {
    record(route, target) {
      const second = Math.floor(now() / 1000);
      const ring = ringFor(`${route}\u0000${target}`);
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
      for (const [key, ring] of rings) {
        const [r, target] = key.split('\u0000');
        if (r !== route) continue;
        let n = 0;
        for (let i = 0; i < SLOTS; i++) if (second - ring.seconds[i] < SLOTS) n += ring.slots[i];
        out[target] = Math.round((n / SLOTS) * 100) / 100;
      }
      return out;
    },
  };
}
