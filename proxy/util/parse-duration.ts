const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** "500ms", "30s", "2m", "12h", "7d" or a bare number of milliseconds → ms; undefined when not a duration. */
export function parseDuration(raw: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?$/.exec(raw.trim());
  if (!m || Number(m[1]) <= 0) return undefined;
  return Math.round(Number(m[1]) * UNITS[m[2] ?? 'ms']);
}
