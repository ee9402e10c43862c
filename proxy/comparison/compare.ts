import {
  collapseHtmlWhitespace,
  decodeJson,
  headerValue,
  isHtmlMedia,
  isJsonMedia,
  isSameMediaType,
  looksLikeJson,
  NOT_JSON,
  parseMediaType,
} from './body.ts';
import { compilePaths, formatPath, type PathState, type Segment } from './json-path.ts';
import { canonicalJson, isDeepEqual, isDeeperThan, MAX_JSON_DEPTH, preview, PREVIEW_CHARS, typeOf } from './json-value.ts';
import { applyMask } from './mask.ts';
import { applyNormalizers } from './normalizers.ts';
import { resolveRules, type ComparisonRules, type Normalizer, type RulesInput } from './rules.ts';
import type { CapturedResponse, ComparisonResult, Difference, DifferenceKind } from './types.ts';

/**
 * The comparison of a primary and a candidate response: status, chosen headers, body.
 * JSON bodies are compared structurally under the route's rules; other bodies by bytes. Bodies
 * come decoded from their Content-Encoding (decode-body.ts); one that could not be is skipped
 * when it is the primary's and a difference at `body` when it is the candidate's.
 */

export type Comparator = (primary: CapturedResponse, candidate: CapturedResponse) => ComparisonResult;

export interface ComparatorOptions {
  /**
   * Learned noise patterns, applied as extra ignore rules. Called on every comparison: return the
   * same array while nothing changed (a changed list must be a new array, as the learner does);
   * the automaton is rebuilt only when the list changes.
   */
  noise?: () => readonly string[];
  /** Learned order-only noise: paths of arrays compared as multisets. Same contract as noise. */
  unordered?: () => readonly string[];
  /** Learned masks: the varying token of a string masked, the rest compared. Same contract as noise. */
  masks?: () => readonly LearnedMask[];
}

export interface LearnedMask {
  pattern: string;
  /** a regular expression (mask.ts) */
  mask: string;
}

const NO_MASKS: readonly LearnedMask[] = Object.freeze([]);

type Rule =
  | { readonly kind: 'ignore' }
  | { readonly kind: 'unordered' }
  | { readonly kind: 'tolerance'; readonly value: number }
  | { readonly kind: 'normalize'; readonly value: readonly Normalizer[] };

const IGNORE: Rule = { kind: 'ignore' };
const UNORDERED: Rule = { kind: 'unordered' };
const NONE: readonly string[] = Object.freeze([]);

/** Differences and noise paths listed per comparison; the rest are counted in `omitted`. */
export const MAX_LISTED = 100;
/** Leftover elements of an unordered array compared with each other to find the most alike. */
const MAX_PAIRING = 32;
const EXCERPT_BEFORE = 40;
const IGNORED = '\u0000ignored';
/** The path of a non-JSON body: its masks (learned, or normalize: { body: [{ mask }] }) apply to its text. */
const BODY = 'body';

/** Builds the comparator of one route; throws STRANGLER_ERR_COMPARISON_RULES_INVALID on bad rules. */
export function buildComparator(rules: RulesInput = {}, options: ComparatorOptions = {}): Comparator {
  const resolved = resolveRules(rules);
  const fixed: Array<[string, Rule]> = [
    ...resolved.ignore.map((p): [string, Rule] => [p, IGNORE]),
    ...resolved.unordered.map((p): [string, Rule] => [p, UNORDERED]),
    ...Object.entries(resolved.tolerance).map(([p, value]): [string, Rule] => [p, { kind: 'tolerance', value }]),
    ...Object.entries(resolved.normalize)
      .filter(([p]) => p !== BODY)
      .map(([p, value]): [string, Rule] => [p, { kind: 'normalize', value }]),
  ];
  const fixedBodyMasks = (resolved.normalize[BODY] ?? []).flatMap((n) => (typeof n === 'object' ? [n.mask] : []));
  let bodyMasks: readonly string[] = fixedBodyMasks;
  let root = compilePaths(fixed);
  let noise = NONE;
  let unordered = NONE;
  let masks = NO_MASKS;

  const refresh = () => {
    const nextNoise = options.noise?.() ?? NONE;
    const nextUnordered = options.unordered?.() ?? NONE;
    const nextMasks = options.masks?.() ?? NO_MASKS;
    if (nextNoise === noise && nextUnordered === unordered && nextMasks === masks) return;
    const changed = !isSameList(nextNoise, noise) || !isSameList(nextUnordered, unordered) || nextMasks.length !== masks.length || nextMasks.some((m, i) => m !== masks[i]);
    noise = nextNoise;
    unordered = nextUnordered;
    masks = nextMasks;
    if (!changed) return;
    root = compilePaths([
      ...fixed,
      ...noise.map((p): [string, Rule] => [p, IGNORE]),
      ...unordered.map((p): [string, Rule] => [p, UNORDERED]),
      ...masks.filter((m) => m.pattern !== BODY).map((m): [string, Rule] => [m.pattern, { kind: 'normalize', value: [{ mask: m.mask }] }]),
    ]);
    bodyMasks = [...fixedBodyMasks, ...masks.filter((m) => m.pattern === BODY).map((m) => m.mask)];
  };

  return (primary, candidate) => {
    refresh();
    const walk = new Walk();
    if (primary.status !== candidate.status) walk.differ('status', 'status', primary.status, candidate.status);
    for (const name of resolved.headers) {
      const a = headerValue(primary.headers, name);
      const b = headerValue(candidate.headers, name);
      if (name === 'content-type' ? !isSameMediaType(a, b) : a !== b) walk.differ(`headers.${name}`, 'header', a, b);
    }
    const bodyReason = compareBodies(primary, candidate, resolved, root, bodyMasks, walk);

    // a candidate that fails where the primary did not is broken, not merely different
    const candidateFailed = candidate.status >= 500 && primary.status < 500;
    const differs = walk.differences.length > 0;
    const result: ComparisonResult = {
      outcome: candidateFailed ? 'candidate-error' : differs ? 'mismatch' : bodyReason ? 'skipped' : 'match',
      differences: walk.differences,
      noise: walk.noise,
    };
    const reason = candidateFailed ? `the candidate answered ${candidate.status} where the primary answered ${primary.status}` : bodyReason;
    if (reason) result.reason = reason;
    if (walk.omittedDifferences || walk.omittedNoise) result.omitted = { differences: walk.omittedDifferences, noise: walk.omittedNoise };
    return result;
  };
}

/** The result of a candidate that gave no response at all (refused, reset, timed out). */
export function compareCandidateError(err: unknown): ComparisonResult {
  let reason: string;
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    reason = typeof code === 'string' ? `${code}: ${err.message}` : err.message;
  } else {
    reason = String(err);
  }
  return { outcome: 'candidate-error', differences: [], noise: [], reason };
}

/** Compares the bodies into walk; returns why the bodies were not, or not fully, compared. */
function compareBodies(
  primary: CapturedResponse,
  candidate: CapturedResponse,
  rules: ComparisonRules,
  root: PathState<Rule>,
  bodyMasks: readonly string[],
  walk: Walk,
): string | undefined {
  const pMedia = parseMediaType(headerValue(primary.headers, 'content-type'));
  const cMedia = parseMediaType(headerValue(candidate.headers, 'content-type'));
  const cut = primary.truncated ? (candidate.truncated ? 'both bodies were' : 'the primary body was') : candidate.truncated ? 'the candidate body was' : undefined;

  // identical bytes: no rule can find a difference or noise in them, and parsing costs the most
  // a body that does not decode is only its bytes: equal to the other side's only if that one is too
  if (!cut && !primary.undecodable === !candidate.undecodable && primary.body.equals(candidate.body)) return undefined;
  if (primary.undecodable) return `body not compared: the primary body cannot be decoded: ${primary.undecodable}`;
  if (candidate.undecodable) {
    // a client could not read it either
    walk.differ('body', 'body', excerpt(primary.body, 0), `(undecodable) ${candidate.undecodable}`);
    return undefined;
  }
  if (isJsonMedia(pMedia) || isJsonMedia(cMedia) || looksLikeJson(primary.body) || looksLikeJson(candidate.body)) {
    // key order and noise make byte prefixes of JSON meaningless: all or nothing
    if (cut) return `body not compared: ${cut} cut at the capture cap, and JSON cannot be compared in part; raise the cap for this route`;
    const a = decodeJson(primary.body);
    const b = decodeJson(candidate.body);
    if (a !== NOT_JSON && b !== NOT_JSON) {
      const deep = describeTooDeep(a, b);
      if (deep) return `body not compared: ${deep} JSON nested more than ${MAX_JSON_DEPTH} levels deep, which strangler does not compare (a hostile or broken answer; real APIs stay far below)`;
      walk.json(a, b, root);
      return undefined;
    }
    if (a !== NOT_JSON || b !== NOT_JSON) {
      walk.differ('body', 'body', a !== NOT_JSON ? preview(a) : excerpt(primary.body, 0), b !== NOT_JSON ? preview(b) : excerpt(candidate.body, 0));
      return undefined;
    }
  }

  const collapse = rules.html.collapseWhitespace && (isHtmlMedia(pMedia) || isHtmlMedia(cMedia));
  if (collapse || bodyMasks.length > 0) {
    // a cut side may end inside a character or a whitespace run: drop its last character
    let a = primary.body.toString('utf8');
    let b = candidate.body.toString('utf8');
    if (collapse) (a = collapseHtmlWhitespace(a)), (b = collapseHtmlWhitespace(b));
    for (const mask of bodyMasks) (a = applyMask(a, mask)), (b = applyMask(b, mask));
    a = a.slice(0, primary.truncated ? -1 : undefined);
    b = b.slice(0, candidate.truncated ? -1 : undefined);
    const unit = collapse && bodyMasks.length ? 'characters (whitespace collapsed, tokens masked)' : collapse ? 'characters (whitespace collapsed)' : 'characters (tokens masked)';
    const before = walk.differences.length;
    const reason = compareSequences(a, b, primary.truncated, candidate.truncated, walk, cut, unit);
    if (bodyMasks.length && walk.differences.length === before && walk.noise.length < MAX_LISTED && !primary.body.equals(candidate.body)) walk.noise.push(BODY);
    return reason;
  }
  return compareSequences(primary.body, candidate.body, primary.truncated, candidate.truncated, walk, cut, 'bytes');
}

/**
 * Byte (or character) comparison where a cut side is only a prefix: a difference inside the
 * part both sides have, or a complete side that ends before a cut one, is certain; anything
 * else about a cut body is unknown.
 */
function compareSequences(
  a: Buffer | string,
  b: Buffer | string,
  aCut: boolean | undefined,
  bCut: boolean | undefined,
  walk: Walk,
  cut: string | undefined,
  unit: string,
): string | undefined {
  const n = Math.min(a.length, b.length);
  let at = firstDifference(a, b, n);
  if (at < 0 && a.length !== b.length) {
    const shorter = a.length < b.length ? aCut : bCut;
    if (!shorter) at = n;
  }
  if (at >= 0) {
    walk.differ('body', 'body', excerpt(a, at), excerpt(b, at));
    return undefined;
  }
  if (!aCut && !bCut) return undefined;
  return `body compared only in its first ${n} ${unit}: ${cut} cut at the capture cap, and the part both sides have is equal`;
}

function firstDifference(a: Buffer | string, b: Buffer | string, n: number): number {
  if (typeof a === 'string') {
    if (a.length === n && b.length === n ? a === b : a.slice(0, n) === (b as string).slice(0, n)) return -1;
    for (let i = 0; i < n; i++) if (a[i] !== (b as string)[i]) return i;
    return -1;
  }
  if (a.subarray(0, n).equals((b as Buffer).subarray(0, n))) return -1;
  for (let i = 0; i < n; i++) if (a[i] !== (b as Buffer)[i]) return i;
  return -1;
}

/** Up to PREVIEW_CHARS of text starting a little before `at`, marked with … where cut. */
function excerpt(body: Buffer | string, at: number): string {
  const start = Math.max(0, at - EXCERPT_BEFORE);
  const end = start + PREVIEW_CHARS;
  const text = typeof body === 'string' ? body.slice(start, end) : body.subarray(start, end).toString('utf8');
  return (start > 0 ? '…' : '') + text + (end < body.length ? '…' : '');
}

/** Which side's JSON is deeper than MAX_JSON_DEPTH, as the start of a reason; undefined when neither. */
function describeTooDeep(primary: unknown, candidate: unknown): string | undefined {
  const p = isDeeperThan(primary, MAX_JSON_DEPTH);
  const c = isDeeperThan(candidate, MAX_JSON_DEPTH);
  if (p && c) return 'both bodies are';
  if (p) return 'the primary body is';
  return c ? 'the candidate body is' : undefined;
}

function removeWhere(list: number[], predicate: (n: number) => boolean): void {
  let kept = 0;
  for (const n of list) if (!predicate(n)) list[kept++] = n;
  list.length = kept;
}

function isSameList(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function isWithinTolerance(a: number, b: number, tolerance: number): boolean {
  // 1.00 vs 1.01 with tolerance 0.01 differ by 0.010000000000000009 in binary: allow rounding
  return Math.abs(a - b) <= tolerance + Number.EPSILON * 4 * Math.max(Math.abs(a), Math.abs(b), 1);
}

/** The state of one JSON comparison: where it is, and what it found. */
class Walk {
  readonly differences: Difference[] = [];
  readonly noise: string[] = [];
  omittedDifferences = 0;
  omittedNoise = 0;
  /** the concrete path of the current node, formatted only when something is reported */
  readonly segments: Segment[] = [];
  /** canonical() left out an ignored node: matched elements may still hide noise */
  droppedIgnored = false;

  differ(path: string, kind: DifferenceKind, primary: unknown, candidate: unknown): void {
    if (this.differences.length >= MAX_LISTED) {
      this.omittedDifferences++;
      return;
    }
    const difference: Difference = { path, kind };
    if (kind !== 'added') difference.primary = preview(primary);
    if (kind !== 'missing') difference.candidate = preview(candidate);
    this.differences.push(difference);
  }

  differHere(kind: DifferenceKind, primary: unknown, candidate: unknown): void {
    if (this.differences.length >= MAX_LISTED) this.omittedDifferences++;
    else this.differ(formatPath(this.segments), kind, primary, candidate);
  }

  noiseHere(): void {
    if (this.noise.length >= MAX_LISTED) this.omittedNoise++;
    else this.noise.push(formatPath(this.segments));
  }

  json(a: unknown, b: unknown, state: PathState<Rule>): void {
    let tolerance: number | undefined;
    let normalizers: readonly Normalizer[] | undefined;
    let unordered = false;
    for (const rule of state.values) {
      if (rule.kind === 'ignore') {
        if (!isDeepEqual(a, b)) this.noiseHere();
        return;
      }
      if (rule.kind === 'unordered') unordered = true;
      else if (rule.kind === 'tolerance') tolerance = Math.max(tolerance ?? 0, rule.value);
      else normalizers = normalizers ? [...normalizers, ...rule.value] : rule.value;
    }
    const na = normalizers ? applyNormalizers(a, normalizers) : a;
    const nb = normalizers ? applyNormalizers(b, normalizers) : b;
    if (na === nb) return;
    const type = typeOf(na);
    if (type !== typeOf(nb)) return this.differHere('type', a, b);
    if (type === 'object') return this.objects(na as Record<string, unknown>, nb as Record<string, unknown>, state);
    if (type === 'array') return unordered ? this.unorderedArrays(na as unknown[], nb as unknown[], state) : this.orderedArrays(na as unknown[], nb as unknown[], state);
    if (type === 'number' && tolerance !== undefined && isWithinTolerance(na as number, nb as number, tolerance)) return;
    this.differHere('changed', a, b);
  }

  /** A member or element only one side has: a difference, unless it is noise. */
  absent(kind: 'missing' | 'added', value: unknown, state: PathState<Rule>): void {
    if (state.values.some((r) => r.kind === 'ignore')) this.noiseHere();
    else this.differHere(kind, kind === 'missing' ? value : undefined, kind === 'added' ? value : undefined);
  }

  objects(a: Record<string, unknown>, b: Record<string, unknown>, state: PathState<Rule>): void {
    for (const key in a) {
      this.segments.push(key);
      if (Object.hasOwn(b, key)) this.json(a[key], b[key], state.child(key));
      else this.absent('missing', a[key], state.child(key));
      this.segments.pop();
    }
    for (const key in b) {
      if (Object.hasOwn(a, key)) continue;
      this.segments.push(key);
      this.absent('added', b[key], state.child(key));
      this.segments.pop();
    }
  }

  orderedArrays(a: unknown[], b: unknown[], state: PathState<Rule>): void {
    const n = Math.min(a.length, b.length);
    for (let i = 0; i < Math.max(a.length, b.length); i++) {
      this.segments.push(i);
      if (i < n) this.json(a[i], b[i], state.element(i));
      else if (i < a.length) this.absent('missing', a[i], state.element(i));
      else this.absent('added', b[i], state.element(i));
      this.segments.pop();
    }
  }

  /**
   * Multiset comparison: elements pair up by canonical JSON (after ignore and normalizers);
   * leftovers pair up most alike first (a pair within tolerance is a match) and their
   * differences are reported at the primary's index; what is still left is missing or added.
   */
  unorderedArrays(a: unknown[], b: unknown[], state: PathState<Rule>): void {
    // one element a side pairs only one way; trying the order first and then pairing would walk
    // it twice per level, 2^depth walks for nested one-element unordered arrays
    if (a.length === 1 && b.length === 1) return this.orderedArrays(a, b, state);
    if (a.length === b.length && this.isSameInOrder(a, b, state)) return;
    this.droppedIgnored = false;
    const byKey = new Map<string, number[]>();
    for (let j = b.length - 1; j >= 0; j--) {
      const key = this.canonical(b[j], state.element(j));
      const list = byKey.get(key);
      if (list) list.push(j);
      else byKey.set(key, [j]);
    }
    const pairs: Array<[number, number]> = [];
    const leftA: number[] = [];
    for (let i = 0; i < a.length; i++) {
      const j = byKey.get(this.canonical(a[i], state.element(i)))?.pop();
      if (j === undefined) leftA.push(i);
      else pairs.push([i, j]);
    }
    const leftB: number[] = [];
    for (const list of byKey.values()) leftB.push(...list);
    leftB.sort((x, y) => x - y);

    if (this.droppedIgnored)
      for (const [i, j] of pairs) {
        this.segments.push(i);
        this.json(a[i], b[j], state.element(i));
        this.segments.pop();
      }
    for (const [i, j] of this.pairLeftovers(a, b, leftA, leftB, state)) {
      this.segments.push(i);
      this.json(a[i], b[j], state.element(i));
      this.segments.pop();
    }
    for (let k = 0; k < leftA.length; k++) {
      this.segments.push(leftA[k]);
      this.absent('missing', a[leftA[k]], state.element(leftA[k]));
      this.segments.pop();
    }
    for (let k = 0; k < leftB.length; k++) {
      this.segments.push(leftB[k]);
      this.absent('added', b[leftB[k]], state.element(leftB[k]));
      this.segments.pop();
    }
  }

  /**
   * Compares element by element, keeping what it finds only if every element matches: arrays
   * that happen to be in the same order skip the canonical JSON of the multiset comparison.
   */
  isSameInOrder(a: unknown[], b: unknown[], state: PathState<Rule>): boolean {
    const differences = this.differences.length;
    const omitted = this.omittedDifferences;
    const noise = this.noise.length;
    const omittedNoise = this.omittedNoise;
    for (let i = 0; i < a.length; i++) {
      this.segments.push(i);
      this.json(a[i], b[i], state.element(i));
      this.segments.pop();
      if (this.differences.length !== differences || this.omittedDifferences !== omitted) {
        this.differences.length = differences;
        this.omittedDifferences = omitted;
        this.noise.length = noise;
        this.omittedNoise = omittedNoise;
        return false;
      }
    }
    return true;
  }

  /**
   * Pairs the elements left over after exact matching, most alike first (fewest differences,
   * then index order), so that an element changed in one field is reported as that one change.
   * Paired elements are removed from leftA and leftB; too many leftovers pair in index order.
   */
  pairLeftovers(a: unknown[], b: unknown[], leftA: number[], leftB: number[], state: PathState<Rule>): Array<[number, number]> {
    const pairs: Array<[number, number]> = [];
    // one leftover a side has only one pairing: probing it would walk the pair twice per level,
    // 2^depth walks for nested unordered arrays
    if (leftA.length === 1 && leftB.length === 1) {
      pairs.push([leftA[0], leftB[0]]);
    } else if (leftA.length > MAX_PAIRING || leftB.length > MAX_PAIRING) {
      const n = Math.min(leftA.length, leftB.length);
      for (let k = 0; k < n; k++) pairs.push([leftA[k], leftB[k]]);
    } else {
      const scored: Array<[differences: number, i: number, j: number]> = [];
      for (const i of leftA)
        for (const j of leftB) {
          const probe = new Walk();
          probe.json(a[i], b[j], state.element(i));
          scored.push([probe.differences.length + probe.omittedDifferences, i, j]);
        }
      scored.sort((x, y) => x[0] - y[0] || x[1] - y[1] || x[2] - y[2]);
      const pairedA = new Set<number>();
      const pairedB = new Set<number>();
      for (const [, i, j] of scored) {
        if (pairedA.has(i) || pairedB.has(j)) continue;
        pairedA.add(i);
        pairedB.add(j);
        pairs.push([i, j]);
      }
      pairs.sort((x, y) => x[0] - y[0]);
    }
    const pairedA = new Set(pairs.map(([i]) => i));
    const pairedB = new Set(pairs.map(([, j]) => j));
    removeWhere(leftA, (i) => pairedA.has(i));
    removeWhere(leftB, (j) => pairedB.has(j));
    return pairs;
  }

  /** Canonical JSON of value under the rules: ignored members left out, normalizers applied. */
  canonical(value: unknown, state: PathState<Rule>): string {
    if (!state.live && state.values.length === 0) return canonicalJson(value);
    let unordered = false;
    for (const rule of state.values) {
      if (rule.kind === 'ignore') {
        this.droppedIgnored = true;
        return IGNORED;
      }
      if (rule.kind === 'unordered') unordered = true;
      else if (rule.kind === 'normalize') value = applyNormalizers(value, rule.value);
    }
    if (typeof value !== 'object' || value === null) return JSON.stringify(value);
    if (Array.isArray(value)) {
      const parts = value.map((v, i) => this.canonical(v, state.element(i)));
      if (unordered) parts.sort();
      return `[${parts.join(',')}]`;
    }
    const o = value as Record<string, unknown>;
    let out = '{';
    for (const key of Object.keys(o).sort()) {
      const child = state.child(key);
      if (child.values.some((r) => r.kind === 'ignore')) {
        this.droppedIgnored = true;
        continue;
      }
      out += (out.length > 1 ? ',' : '') + JSON.stringify(key) + ':' + this.canonical(o[key], child);
    }
    return out + '}';
  }
}
