/**
 * Whether a request is copied, for a route's shadow.sample share (0..1) and a uniform draw in
 * [0, 1): copied when the draw falls below the share, so 0 copies nothing and 1 copies all.
 * One pure function, so its boundaries are tested without randomness.
 */
export function isSampled(share: number, draw: number): boolean {
  return draw < share;
}
