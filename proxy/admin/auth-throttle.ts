/**
 * Failed admin authentications per remote address: after maxFailures wrong tokens within
 * windowMs, the address is refused for blockMs, whatever token it sends, so guessing a token
 * costs minutes per handful of tries instead of milliseconds. Only failures count: a client
 * that holds one token cannot interleave successes to keep guessing the other.
 * Memory is bounded: at most maxAddresses are tracked, quiet ones are forgotten.
 */

export interface AuthThrottleOptions {
  /** wrong tokens from one address that block it */
  maxFailures: number;
  /** the failures must fall within this many ms */
  windowMs: number;
  /** how long a blocked address is refused */
  blockMs: number;
  /** addresses tracked at most; beyond, the one that failed longest ago is forgotten */
  maxAddresses: number;
  /** epoch ms; a test passes its own clock */
  now: () => number;
}

export const AUTH_THROTTLE_DEFAULTS: Readonly<AuthThrottleOptions> = Object.freeze({
  maxFailures: 10,
  windowMs: 60_000,
  blockMs: 60_000,
  maxAddresses: 10_000,
  now: Date.now,
});

export interface AuthThrottle {
  /** ms until the address may authenticate again; 0 when it may now */
  retryAfterMs(address: string): number;
  /** Counts a wrong token from the address; returns the ms it is now blocked for, 0 when not blocked. */
  fail(address: string): number;
  /** addresses currently tracked */
  readonly size: number;
}

interface Entry {
  /** times of the failures within the window, oldest first; at most maxFailures */
  failures: number[];
  blockedUntil: number;
}

export function createAuthThrottle(overrides: Partial<AuthThrottleOptions> = {}): AuthThrottle {
  const { maxFailures, windowMs, blockMs, maxAddresses, now } = { ...AUTH_THROTTLE_DEFAULTS, ...overrides };
  // insertion order is the order of the last failure: the first entries are the quietest
  const entries = new Map<string, Entry>();
  const expiresAt = (e: Entry) => Math.max(e.blockedUntil, (e.failures.at(-1) ?? -Infinity) + windowMs);

  const forgetExpired = (at: number) => {
    for (const [address, entry] of entries) {
      if (expiresAt(entry) > at) break;
      entries.delete(address);
    }
  };

  return {
    retryAfterMs(address) {
      const entry = entries.get(address);
      return entry ? Math.max(0, entry.blockedUntil - now()) : 0;
    },
    fail(address) {
      const at = now();
      forgetExpired(at);
      const entry = entries.get(address) ?? { failures: [], blockedUntil: 0 };
      entries.delete(address);
      entry.failures = entry.failures.filter((t) => at - t < windowMs);
      entry.failures.push(at);
      if (entry.failures.length >= maxFailures) {
        entry.blockedUntil = at + blockMs;
        entry.failures = [];
      }
      entries.set(address, entry);
      if (entries.size > maxAddresses) entries.delete(entries.keys().next().value!);
      return Math.max(0, entry.blockedUntil - at);
    },
    get size() {
      return entries.size;
    },
  };
}
