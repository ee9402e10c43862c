import { applyMask } from './mask.ts';
import type { Normalizer } from './rules.ts';

/** What every timestamp normalizes to, so two timestamps compare equal whatever their values. */
export const TIMESTAMP = '\u0000timestamp';

/** 2024-05-01, 2024-05-01T10:00:00Z, 2024-05-01 10:00:00.123+02:00 … */
const ISO_8601 =
  /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])([T ]([01]\d|2[0-3]):[0-5]\d(:[0-5]\d(\.\d+)?)?(Z|[+-]([01]\d|2[0-3]):?[0-5]\d)?)?$/i;

/**
 * An ISO-8601-like string, or an epoch number in seconds or milliseconds between 2001 and 2286
 * (a plain count such as 42 is not taken for a timestamp).
 */
export function isTimestamp(value: unknown): boolean {
  if (typeof value === 'string') return ISO_8601.test(value);
  if (typeof value !== 'number' || !Number.isFinite(value)) return false;
  return (value >= 1e9 && value < 1e10) || (value >= 1e12 && value < 1e13);
}

export function applyNormalizers(value: unknown, normalizers: readonly Normalizer[]): unknown {
  for (const n of normalizers) {
    if (n === 'timestamp') value = isTimestamp(value) ? TIMESTAMP : value;
    else if (typeof value !== 'string') continue;
    else if (typeof n === 'object') value = applyMask(value, n.mask);
    else value = n === 'trim' ? value.trim() : value.toLowerCase();
  }
  return value;
}
