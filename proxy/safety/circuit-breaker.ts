/**
 * A circuit breaker per service. Closed: requests flow, consecutive failures are counted. After
 * `failures` in a row it opens: requests that would go to the service go to legacy instead, for
 * `openForMs`. Then it is half-open: one request is let through as a probe; its success closes
 * the breaker, its failure opens it again. A failure is a 5xx or no answer at all.
 */
export type BreakerState = 'closed' | 'open' | 'half-open';

export interface BreakerOptions {
  failures: number;
  openForMs: number;
  now?: () => number;
  onChange?: (service: string, state: BreakerState, reason: string) => void;
}

export interface BreakerBoard {
  /** may a request go to this service now? In half-open, true once (the probe) until it settles */
  allows(service: string): boolean;
  record(service: string, ok: boolean): void;
  state(service: string): BreakerState;
  states(): Record<string, BreakerState>;
}

interface Breaker {
  state: BreakerState;
  consecutive: number;
  openedAt: number;
  probing: boolean;
}

export function createBreakerBoard({ failures, openForMs, now = Date.now, onChange }: BreakerOptions): BreakerBoard {
  const breakers = new Map<string, Breaker>();
  const get = (service: string): Breaker => {
    let b = breakers.get(service);
    if (!b) breakers.set(service, (b = { state: 'closed', consecutive: 0, openedAt: 0, probing: false }));
    return b;
  };
  const move = (service: string, b: Breaker, state: BreakerState, reason: string) => {
    if (b.state === state) return;
    b.state = state;
    onChange?.(service, state, reason);
  };
  const current = (service: string, b: Breaker): BreakerState => {
    if (b.state === 'open' && now() - b.openedAt >= openForMs) move(service, b, 'half-open', `${openForMs} ms passed; letting one probe through`);
    return b.state;
  };
  return {
    allows(service) {
      const b = breakers.get(service);
      if (!b) return true;
      const state = current(service, b);
      if (state === 'closed') return true;
      if (state === 'open' || b.probing) return false;
      b.probing = true;
      return true;
    },
    record(service, ok) {
      const b = get(service);
      const state = current(service, b);
      if (ok) {
        b.consecutive = 0;
        if (state === 'half-open') {
          b.probing = false;
          move(service, b, 'closed', 'the probe succeeded');
        }
        return;
      }
      b.consecutive++;
      if (state === 'half-open' || (state === 'closed' && b.consecutive >= failures)) {
        b.probing = false;
        b.openedAt = now();
        move(service, b, 'open', state === 'half-open' ? 'the probe failed' : `${b.consecutive} failures in a row`);
      }
    },
    state(service) {
      const b = breakers.get(service);
      return b ? current(service, b) : 'closed';
    },
    states() {
      const out: Record<string, BreakerState> = {};
      for (const [service, b] of breakers) out[service] = current(service, b);
      return out;
    },
  };
}
