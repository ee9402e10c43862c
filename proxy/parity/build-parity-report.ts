import { decodeJson, NOT_JSON } from '../comparison/body.ts';
import { compilePaths, coversPath, formatPattern, parseConcretePath, walkPath, type PathState, type Segment } from '../comparison/json-path.ts';
import { PREVIEW_CHARS } from '../comparison/json-value.ts';
import { applyMask } from '../comparison/mask.ts';
import type { NoiseEntry } from '../comparison/noise.ts';
import type { ComparisonOutcome, Difference } from '../comparison/types.ts';
import type { ComparisonStore } from './comparison-store.ts';
import type { ComparisonRecord, ComparisonSource, DifferingPath, ParityReport, RouteParity, StoredResponse } from './records.ts';

/**
 * A route's parity, one number per time window:
 *   parity = matches / (matches + mismatches + candidateErrors) × 100
 * Skipped comparisons are reported but not part of it. A stored mismatch whose every difference
 * is covered by noise learned later counts as a match: noise is a property of legacy, and a
 * difference legacy makes with itself is no fault of the service. (For array-order noise this
 * is generous: a comparison stored before the order was learned cannot tell a reordered array
 * from a changed one, and is given the benefit of the doubt.)
 */

export interface ParityInput {
  /** outcome counts per route in the window */
  counts: ReadonlyArray<{ route: string; outcome: ComparisonOutcome; n: number }>;
  /** mismatching and candidate-error comparisons of the window, newest first (may be a newest subset) */
  failures: readonly ComparisonRecord[];
  noise: ReadonlyMap<string, readonly NoiseEntry[]>;
  window: { from: number; to: number };
  source: ComparisonSource | 'all';
  /** routes to list even without comparisons (e.g. every compared route of routes.yaml) */
  routes?: readonly string[];
}

export const TOP_DIFFERENCES = 5;
export const EXAMPLES_PER_ROUTE = 3;

export function buildParityReport(input: ParityInput): ParityReport {
  const names = new Set<string>([...(input.routes ?? []), ...input.counts.map((c) => c.route)]);
  const routes: RouteParity[] = [];
  const examples: ComparisonRecord[] = [];
  for (const name of [...names].sort()) {
    const count = (outcome: ComparisonOutcome) => input.counts.filter((c) => c.route === name && c.outcome === outcome).reduce((n, c) => n + c.n, 0);
    const noise = [...(input.noise.get(name) ?? [])];
    const isNoise = noiseMatcher(noise);
    const isMasked = maskMatcher(noise);
    let matches = count('match');
    let mismatches = count('mismatch');
    const candidateErrors = count('candidate-error');
    const paths = new Map<string, DifferingPath>();
    const reasons = new Map<string, number>();
    let routeExamples = 0;
    for (const record of input.failures) {
      if (record.route !== name) continue;
      if (record.outcome === 'candidate-error') {
        const reason = (record.reason ?? 'no response').slice(0, 200);
        reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
        if (routeExamples < EXAMPLES_PER_ROUTE) (examples.push(record), routeExamples++);
        continue;
      }
      const real = record.differences.filter((d) => !isNoise(d.path) && !isMasked(d, record));
      if (real.length === 0) {
        // every difference is noise learned since it was stored
        mismatches--;
        matches++;
        continue;
      }
      if (routeExamples < EXAMPLES_PER_ROUTE) (examples.push(record), routeExamples++);
      for (const d of real) {
        const pattern = generalise(d.path);
        const seen = paths.get(pattern);
        if (seen) seen.count++;
        else
          paths.set(pattern, {
            pattern,
            count: 1,
            example: { at: record.at, request: `${record.request.method} ${record.request.url}`, path: d.path, legacy: d.primary, service: d.candidate },
          });
      }
    }
    const compared = matches + mismatches + candidateErrors;
    routes.push({
      route: name,
      matches,
      mismatches,
      candidateErrors,
      skipped: count('skipped'),
      compared,
      parity: compared === 0 ? null : (matches / compared) * 100,
      topDifferences: [...paths.values()].sort((a, b) => b.count - a.count).slice(0, TOP_DIFFERENCES),
      topErrors: [...reasons].map(([reason, count]) => ({ reason, count })).sort((a, b) => b.count - a.count).slice(0, TOP_DIFFERENCES),
      noise,
    });
  }
  return {
    generatedAt: new Date().toISOString(),
    window: { from: new Date(input.window.from).toISOString(), to: new Date(input.window.to).toISOString() },
    source: input.source,
    routes,
    examples,
  };
}

export interface StoredParityQuery {
  route?: string;
  source?: ComparisonSource;
  /** epoch ms */
  since: number;
  until?: number;
  routes?: readonly string[];
}

/** Failures read per route; beyond it the oldest are counted but not inspected for noise. */
const FAILURES_PER_ROUTE = 2000;

export async function buildStoredParityReport(store: ComparisonStore, query: StoredParityQuery): Promise<ParityReport> {
  const until = query.until ?? Date.now() + 1;
  const window = { since: query.since, until, source: query.source };
  const counts = await store.counts({ ...window, route: query.route });
  const names = query.route ? [query.route] : [...new Set([...(query.routes ?? []), ...counts.map((c) => c.route)])];
  const failures: ComparisonRecord[] = [];
  for (const route of names) {
    failures.push(...(await store.list({ ...window, route, outcome: 'mismatch', limit: FAILURES_PER_ROUTE })));
    failures.push(...(await store.list({ ...window, route, outcome: 'candidate-error', limit: FAILURES_PER_ROUTE })));
  }
  failures.sort((a, b) => (a.at < b.at ? 1 : a.at > b.at ? -1 : 0));
  return buildParityReport({
    counts,
    failures,
    noise: await store.noise(query.route),
    window: { from: query.since, to: until },
    source: query.source ?? 'all',
    routes: names,
  });
}

/** `$.data[3].name` → `$.data[*].name`; status, headers.* and body stay as they are. */
function generalise(path: string): string {
  if (!path.startsWith('$')) return path;
  try {
    return formatPattern(parseConcretePath(path));
  } catch {
    return path;
  }
}

/**
 * A difference stored before a mask was learned is noise when the masks make both values equal:
 * its values when they are whole, else the values at its path in both stored bodies. When
 * neither is known whole, it stays a difference.
 */
function maskMatcher(noise: readonly NoiseEntry[]): (difference: Difference, record: ComparisonRecord) => boolean {
  const masks = noise.flatMap((e) => (e.kind === 'mask' && e.pattern.startsWith('$') && Array.isArray(e.masks) ? e.masks.map((m): [string, string] => [e.pattern, m]) : []));
  if (masks.length === 0) return () => false;
  let root: PathState<string>;
  try {
    root = compilePaths(masks);
  } catch {
    return () => false;
  }
  const bodies = new WeakMap<ComparisonRecord, [unknown, unknown]>();
  return (d, record) => {
    if (!d.path.startsWith('$') || d.kind !== 'changed') return false;
    let segments: Segment[];
    try {
      segments = parseConcretePath(d.path);
    } catch {
      return false;
    }
    const sources = walkPath(root, segments).values;
    if (sources.length === 0) return false;
    let a = d.primary;
    let b = d.candidate;
    if (isCut(a) || isCut(b)) {
      let both = bodies.get(record);
      if (!both) bodies.set(record, (both = [storedJson(record.legacy), storedJson(record.serviceResponse)]));
      a = valueAt(both[0], segments);
      b = valueAt(both[1], segments);
    }
    if (typeof a !== 'string' || typeof b !== 'string') return false;
    for (const mask of sources) {
      a = applyMask(a as string, mask);
      b = applyMask(b as string, mask);
    }
    return a === b;
  };
}

function isCut(value: unknown): boolean {
  return typeof value === 'string' && value.length > PREVIEW_CHARS && value.endsWith('…');
}

function storedJson(response: StoredResponse | undefined): unknown {
  if (!response || response.truncated || response.bodyEncoding !== 'utf8') return NOT_JSON;
  return decodeJson(Buffer.from(response.body, 'utf8'));
}

function valueAt(json: unknown, segments: readonly Segment[]): unknown {
  let node = json;
  for (const s of segments) {
    if (node === null || typeof node !== 'object' || !Object.hasOwn(node, s)) return undefined;
    node = (node as Record<string | number, unknown>)[s];
  }
  return node;
}

function noiseMatcher(noise: readonly NoiseEntry[]): (path: string) => boolean {
  // value noise covers the node; order noise covers the array's elements. A comparison stored
  // before an order was learned shows it as changed elements, so they are covered too.
  const patterns = noise.filter((e) => e.kind === 'value' || e.kind === 'order').map((e): [string, true] => [e.pattern, true]);
  if (patterns.length === 0) return () => false;
  let root: PathState<true>;
  try {
    root = compilePaths(patterns);
  } catch {
    return () => false;
  }
  return (path) => {
    if (!path.startsWith('$')) return false;
    try {
      return coversPath(root, parseConcretePath(path));
    } catch {
      return false;
    }
  };
}
