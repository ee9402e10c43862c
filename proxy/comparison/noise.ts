import { isUtf8 } from 'node:buffer';
import { decodeJson, headerValue, isJsonMedia, looksLikeJson, NOT_JSON, parseMediaType } from './body.ts';
import type { ComparatorOptions, LearnedMask } from './compare.ts';
import { deriveMasks } from './mask.ts';
import { compilePaths, coversPath, formatPath, formatPattern, parseConcretePath, type PathState, type Segment } from './json-path.ts';
import { canonicalJson, isDeepEqual, isDeeperThan, MAX_JSON_DEPTH, preview, typeOf } from './json-value.ts';
import type { CapturedResponse } from './types.ts';

/**
 * Noise learning, Diffy-style: legacy answers the same request twice, and whatever differs
 * between its two answers cannot be a fault of the candidate. Differences are generalised to
 * patterns (array indexes become [*]) and kept per route, with counts and an example, so a human
 * can promote them to rules.
 *
 * Four kinds of noise, each the narrowest rule that explains what differed:
 * - mask: a string that differs only in a token or a few (`$.html` holding a random secret).
 *   Applied as a mask normalizer of the token (mask.ts), so the rest of the string is compared.
 * - value: a node whose value differs (`$.generated_at`). Applied by comparators as an ignore rule.
 * - order: an array whose elements are the same multiset in another order (`$.data.tags`).
 *   Applied as an `unordered` rule, not as ignore, so a missing or changed element still shows.
 * - body: a non-JSON body that differs, beyond what masks explain (a page that differs only in
 *   a nonce or two is mask noise of `body`). Reported only: ignoring a whole body would hide
 *   every real difference of the route.
 * Headers are not learned: the compared headers are a short chosen list, and per-request headers
 * are never compared.
 */

export type NoiseKind = 'value' | 'mask' | 'order' | 'body';

export interface NoiseEntry {
  /** `$.data[*].created_at`; `body` for kind body */
  pattern: string;
  kind: NoiseKind;
  /** kind mask: the regular expressions of the varying tokens (mask.ts), merged over observations */
  masks?: string[];
  /** observations in which it differed */
  count: number;
  /** the first time it differed: concrete path and both legacy values (previews) */
  example: { path: string; first: unknown; second: unknown };
  /** the rule a human would write to make it permanent */
  suggestion: string;
}

export interface NoiseReport {
  route: string;
  /** pairs of legacy answers compared */
  observations: number;
  /** pairs that could not be compared: different statuses, a body cut at the capture cap, or JSON nested deeper than MAX_JSON_DEPTH */
  skipped: number;
  /** patterns not kept because the route reached MAX_PATTERNS_PER_ROUTE */
  dropped: number;
  /** most frequent first */
  entries: NoiseEntry[];
}

export interface NoiseLearner {
  /** Compares two legacy answers to the same request; returns the patterns learned for the first time. */
  observe(routeName: string, first: CapturedResponse, second: CapturedResponse): string[];
  /** Value-noise patterns of the route, for ComparatorOptions.noise; a new array only when it changes. */
  noiseFor(routeName: string): readonly string[];
  /** Order-noise array patterns of the route, for ComparatorOptions.unordered; same contract. */
  unorderedFor(routeName: string): readonly string[];
  /** Masks learned for the route, for ComparatorOptions.masks; same contract. */
  masksFor(routeName: string): readonly LearnedMask[];
  /** The concrete path, or one of its ancestors, is value noise for the route. */
  isNoise(routeName: string, concretePath: string): boolean;
  report(routeName: string): NoiseReport;
  /** Both learned lists as comparator options: buildComparator(rules, learner.optionsFor(route)). */
  optionsFor(routeName: string): ComparatorOptions;
}

/** A bound on memory when keys vary per response (maps keyed by id, dates …). */
export const MAX_PATTERNS_PER_ROUTE = 200;

interface Found {
  kind: NoiseKind;
  pattern: string;
  masks?: string[];
  example: NoiseEntry['example'];
}

interface RouteNoise {
  observations: number;
  skipped: number;
  dropped: number;
  /** by `${kind} ${pattern}` */
  entries: Map<string, NoiseEntry>;
  noise?: readonly string[];
  unordered?: readonly string[];
  masks?: readonly LearnedMask[];
  matcher?: PathState<true>;
}

const NONE: readonly string[] = Object.freeze([]);
const NO_MASKS: readonly LearnedMask[] = Object.freeze([]);

export function createNoiseLearner(): NoiseLearner {
  const routes = new Map<string, RouteNoise>();
  const routeFor = (name: string): RouteNoise => {
    let route = routes.get(name);
    if (!route) routes.set(name, (route = { observations: 0, skipped: 0, dropped: 0, entries: new Map() }));
    return route;
  };
  const patternsOf = (route: RouteNoise | undefined, kind: NoiseKind): readonly string[] => {
    if (!route) return NONE;
    const patterns: string[] = [];
    for (const entry of route.entries.values()) if (entry.kind === kind) patterns.push(entry.pattern);
    return Object.freeze(patterns);
  };

  const learner: NoiseLearner = {
    observe(routeName, first, second) {
      const route = routeFor(routeName);
      if (first.status !== second.status || first.truncated || second.truncated || first.undecodable || second.undecodable) {
        route.skipped++;
        return [];
      }
      const differences = findDifferences(first, second);
      if (!differences) {
        route.skipped++;
        return [];
      }
      route.observations++;
      const learned: string[] = [];
      for (const [key, found] of differences) {
        const entry = route.entries.get(key);
        if (entry) {
          entry.count++;
          const more = found.masks?.filter((m) => !entry.masks!.includes(m)) ?? [];
          if (more.length) {
            entry.masks!.push(...more);
            entry.suggestion = suggest(entry);
            route.masks = undefined;
            learned.push(found.pattern);
          }
          continue;
        }
        if (route.entries.size >= MAX_PATTERNS_PER_ROUTE) {
          route.dropped++;
          continue;
        }
        route.entries.set(key, { ...found, count: 1, suggestion: suggest(found) });
        learned.push(found.pattern);
        if (found.kind === 'value') {
          route.noise = undefined;
          route.matcher = undefined;
        } else if (found.kind === 'order') route.unordered = undefined;
        else if (found.kind === 'mask') route.masks = undefined;
      }
      return learned;
    },

    noiseFor(routeName) {
      const route = routes.get(routeName);
      if (!route) return NONE;
      return (route.noise ??= patternsOf(route, 'value'));
    },

    unorderedFor(routeName) {
      const route = routes.get(routeName);
      if (!route) return NONE;
      return (route.unordered ??= patternsOf(route, 'order'));
    },

    masksFor(routeName) {
      const route = routes.get(routeName);
      if (!route) return NO_MASKS;
      if (!route.masks) {
        const masks: LearnedMask[] = [];
        for (const e of route.entries.values()) if (e.kind === 'mask') for (const mask of e.masks!) masks.push({ pattern: e.pattern, mask });
        route.masks = Object.freeze(masks);
      }
      return route.masks;
    },

    isNoise(routeName, concretePath) {
      const route = routes.get(routeName);
      if (!route) return false;
      route.matcher ??= compilePaths(learner.noiseFor(routeName).map((p) => [p, true] as const));
      return coversPath(route.matcher, parseConcretePath(concretePath));
    },

    report(routeName) {
      const route = routes.get(routeName);
      const entries = route ? [...route.entries.values()].map((e) => ({ ...e, example: { ...e.example }, ...(e.masks ? { masks: [...e.masks] } : {}) })) : [];
      entries.sort((a, b) => b.count - a.count || (a.pattern < b.pattern ? -1 : a.pattern > b.pattern ? 1 : 0));
      return { route: routeName, observations: route?.observations ?? 0, skipped: route?.skipped ?? 0, dropped: route?.dropped ?? 0, entries };
    },

    optionsFor(routeName) {
      return { noise: () => learner.noiseFor(routeName), unordered: () => learner.unorderedFor(routeName), masks: () => learner.masksFor(routeName) };
    },
  };
  return learner;
}

function suggest(found: Found): string {
  if (found.kind === 'value') return `ignore: [${JSON.stringify(found.pattern)}]`;
  if (found.kind === 'mask')
    return `normalize: { ${JSON.stringify(found.pattern)}: [${found.masks!.map((m) => `{ mask: ${JSON.stringify(m)} }`).join(', ')}] }  (masks only the varying token; the rest of the value is still compared)`;
  if (found.kind === 'order') return `unordered: [${JSON.stringify(found.pattern)}]`;
  return 'legacy answers this route with different bodies each time and no path can be learned from non-JSON: every body comparison will mismatch; try html: { collapseWhitespace: true } if only whitespace varies';
}

/** What differs between two legacy answers, once per pattern; undefined when they cannot be compared. */
function findDifferences(first: CapturedResponse, second: CapturedResponse): Map<string, Found> | undefined {
  const found = new Map<string, Found>();
  const jsonish =
    isJsonMedia(parseMediaType(headerValue(first.headers, 'content-type'))) ||
    isJsonMedia(parseMediaType(headerValue(second.headers, 'content-type'))) ||
    looksLikeJson(first.body) ||
    looksLikeJson(second.body);
  const a = jsonish ? decodeJson(first.body) : NOT_JSON;
  const b = jsonish ? decodeJson(second.body) : NOT_JSON;
  if (a !== NOT_JSON && b !== NOT_JSON) {
    if (isDeeperThan(a, MAX_JSON_DEPTH) || isDeeperThan(b, MAX_JSON_DEPTH)) return undefined;
    diff(a, b, [], found);
  } else if (!first.body.equals(second.body)) {
    const textA = first.body.toString('utf8');
    const textB = second.body.toString('utf8');
    const example = { path: 'body', first: preview(textA), second: preview(textB) };
    // a page that differs only in a nonce or two: mask them, keep comparing the page
    const masks = isUtf8(first.body) && isUtf8(second.body) ? deriveMasks(textA, textB) : undefined;
    if (masks) found.set('mask body', { kind: 'mask', pattern: 'body', masks, example });
    else found.set('body body', { kind: 'body', pattern: 'body', example });
  }
  return found;
}

function diff(a: unknown, b: unknown, segments: Segment[], found: Map<string, Found>): void {
  if (a === b) return;
  const type = typeOf(a);
  if (type === 'string' && typeof b === 'string') {
    const masks = deriveMasks(a as string, b);
    if (masks) return recordMasks(masks, a, b, segments, found);
  }
  if (type !== typeOf(b) || (type !== 'object' && type !== 'array')) return record('value', a, b, segments, found);
  if (type === 'array') {
    const aa = a as unknown[];
    const ba = b as unknown[];
    if (isDeepEqual(aa, ba)) return;
    if (aa.length === ba.length && isSameMultiset(aa, ba)) return record('order', aa, ba, segments, found);
    for (let i = 0; i < Math.max(aa.length, ba.length); i++) {
      segments.push(i);
      if (i < aa.length && i < ba.length) diff(aa[i], ba[i], segments, found);
      else record('value', aa[i], ba[i], segments, found);
      segments.pop();
    }
    return;
  }
  const ao = a as Record<string, unknown>;
  const bo = b as Record<string, unknown>;
  for (const key in ao) {
    segments.push(key);
    if (Object.hasOwn(bo, key)) diff(ao[key], bo[key], segments, found);
    else record('value', ao[key], undefined, segments, found);
    segments.pop();
  }
  for (const key in bo) {
    if (Object.hasOwn(ao, key)) continue;
    segments.push(key);
    record('value', undefined, bo[key], segments, found);
    segments.pop();
  }
}

function record(kind: NoiseKind, a: unknown, b: unknown, segments: Segment[], found: Map<string, Found>): void {
  const pattern = formatPattern(segments);
  const key = `${kind} ${pattern}`;
  if (found.has(key)) return;
  found.set(key, { kind, pattern, example: { path: formatPath(segments), first: preview(a), second: preview(b) } });
}

function recordMasks(masks: string[], a: unknown, b: unknown, segments: Segment[], found: Map<string, Found>): void {
  const pattern = formatPattern(segments);
  const key = `mask ${pattern}`;
  const seen = found.get(key);
  if (seen) for (const m of masks) !seen.masks!.includes(m) && seen.masks!.push(m);
  else found.set(key, { kind: 'mask', pattern, masks: [...masks], example: { path: formatPath(segments), first: preview(a), second: preview(b) } });
}

function isSameMultiset(a: unknown[], b: unknown[]): boolean {
  const ca = a.map(canonicalJson).sort();
  const cb = b.map(canonicalJson).sort();
  return ca.every((c, i) => c === cb[i]);
}
