import { errors } from '../errors.ts';

/**
 * JSONPath-like patterns over concrete paths.
 *
 * A concrete path names one node of a parsed JSON body: `$.data[3].owner.name`, `$['odd key']`.
 * A pattern may also use `[*]` / `.*` (any one child, key or index) and `..` (any depth, including
 * none): `$.data[*].created_at`, `$..request_id`.
 *
 * Patterns are compiled into one lazily built automaton per rule set: walking a document moves a
 * state from child to child, and a state's transitions are cached, so after the first few
 * comparisons matching a node costs a map lookup and allocates nothing.
 */

export type Step =
  | { readonly type: 'key'; readonly key: string; readonly deep: boolean }
  | { readonly type: 'index'; readonly index: number; readonly deep: boolean }
  | { readonly type: 'any'; readonly deep: boolean };

export interface PathPattern {
  readonly source: string;
  readonly steps: readonly Step[];
}

/** One step from a node to its child: an object key or an array index. */
export type Segment = string | number;

const MAX_STEPS = 255;
const STRIDE = 256;
const NAME_END = /[.[\]'"*\s]/;
const SHORTHAND = /^[A-Za-z_$][A-Za-z0-9_$-]*$/;

/** Why source is not a pattern, or its steps. */
function parseSteps(source: string): Step[] | string {
  if (source[0] !== '$') return 'it must start with $';
  const steps: Step[] = [];
  let i = 1;
  const at = () => `at character ${i + 1}`;
  while (i < source.length) {
    let deep = false;
    if (source[i] === '.') {
      if (source[i + 1] === '.') {
        deep = true;
        i += 2;
        if (i >= source.length) return 'it ends with ..; name what to find at any depth, e.g. $..request_id';
        if (source[i] === '.') return `three dots ${at()}`;
      } else {
        i += 1;
      }
      if (source[i] !== '[') {
        if (source[i] === '*') {
          steps.push({ type: 'any', deep });
          i += 1;
          continue;
        }
        let end = i;
        while (end < source.length && !NAME_END.test(source[end])) end++;
        if (end === i) return `a key name is missing ${at()}`;
        steps.push({ type: 'key', key: source.slice(i, end), deep });
        i = end;
        continue;
      }
    }
    if (source[i] !== '[') return `unexpected "${source[i]}" ${at()}`;
    i += 1;
    const c = source[i];
    if (c === '*') {
      if (source[i + 1] !== ']') return `expected ] ${at()}`;
      steps.push({ type: 'any', deep });
      i += 2;
    } else if (c !== undefined && c >= '0' && c <= '9') {
      let end = i;
      while (source[end] >= '0' && source[end] <= '9') end++;
      if (source[end] !== ']') return `expected ] after the index ${at()}`;
      steps.push({ type: 'index', index: Number(source.slice(i, end)), deep });
      i = end + 1;
    } else if (c === "'" || c === '"') {
      let key = '';
      let j = i + 1;
      while (j < source.length && source[j] !== c) {
        if (source[j] === '\\' && j + 1 < source.length) j++;
        key += source[j];
        j++;
      }
      if (j >= source.length) return `the quoted key opened at character ${i + 1} is not closed`;
      if (source[j + 1] !== ']') return `expected ] after the quoted key at character ${j + 2}`;
      steps.push({ type: 'key', key, deep });
      i = j + 2;
    } else {
      return `expected [n], [*] or ['key'] ${at()}`;
    }
    if (steps.length > MAX_STEPS) return `it has more than ${MAX_STEPS} steps`;
  }
  return steps;
}

const parsed = new Map<string, PathPattern>();
const MAX_CACHED_PATTERNS = 10_000;

/** Parses a pattern (cached by its text); throws STRANGLER_ERR_COMPARISON_BAD_PATH. */
export function parsePath(source: string): PathPattern {
  let pattern = parsed.get(source);
  if (pattern) return pattern;
  const steps = parseSteps(source);
  if (typeof steps === 'string') throw errors.comparisonBadPath(source, steps);
  pattern = Object.freeze({ source, steps: Object.freeze(steps.map((s) => Object.freeze(s))) });
  // learned noise adds patterns at run time: bound the cache rather than trust the input
  if (parsed.size >= MAX_CACHED_PATTERNS) parsed.clear();
  parsed.set(source, pattern);
  return pattern;
}

/** What is wrong with a pattern, for validators; undefined when it is fine. */
export function findPathProblem(source: string): string | undefined {
  const steps = parseSteps(source);
  return typeof steps === 'string' ? `"${source}" is not a path: ${steps}` : undefined;
}

function formatKey(key: string): string {
  return SHORTHAND.test(key) ? `.${key}` : `['${key.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}']`;
}

/** The concrete path of a node: `$.data[3].owner.name`. */
export function formatPath(segments: readonly Segment[]): string {
  let out = '$';
  for (const s of segments) out += typeof s === 'number' ? `[${s}]` : formatKey(s);
  return out;
}

/** The pattern covering a node and its siblings at every array index: `$.data[*].owner.name`. */
export function formatPattern(segments: readonly Segment[]): string {
  let out = '$';
  for (const s of segments) out += typeof s === 'number' ? '[*]' : formatKey(s);
  return out;
}

/** A concrete path back into segments; throws on wildcards or bad syntax. */
export function parseConcretePath(path: string): Segment[] {
  const segments: Segment[] = [];
  for (const step of parsePath(path).steps) {
    if (step.deep || step.type === 'any') throw errors.comparisonBadPath(path, 'a concrete path has no [*], .* or ..');
    segments.push(step.type === 'key' ? step.key : step.index);
  }
  return segments;
}

interface Automaton<T> {
  readonly patterns: readonly PathPattern[];
  readonly values: readonly T[];
  readonly states: Map<string, PathState<T>>;
  dead?: PathState<T>;
}

const NO_VALUES: readonly never[] = Object.freeze([]);

/**
 * Where a walk stands in a document with respect to a set of patterns. `values` holds the
 * values of the patterns that match this node exactly; `live` says whether any pattern can still
 * match this node's descendants (a walk can stop consulting rules when it is false).
 */
export class PathState<T> {
  readonly values: readonly T[];
  readonly live: boolean;
  readonly #automaton: Automaton<T>;
  /** encoded pattern * STRIDE + number of steps matched so far */
  readonly #positions: readonly number[];
  readonly #keys: ReadonlySet<string>;
  readonly #indexes: ReadonlySet<number>;
  #byKey: Map<string, PathState<T>> | undefined;
  #byIndex: Map<number, PathState<T>> | undefined;
  #otherKey: PathState<T> | undefined;
  #otherIndex: PathState<T> | undefined;

  constructor(automaton: Automaton<T>, positions: readonly number[]) {
    this.#automaton = automaton;
    this.#positions = positions;
    const values: T[] = [];
    const keys = new Set<string>();
    const indexes = new Set<number>();
    let live = false;
    for (const encoded of positions) {
      const p = Math.floor(encoded / STRIDE);
      const steps = automaton.patterns[p].steps;
      const step = steps[encoded % STRIDE];
      if (step === undefined) {
        values.push(automaton.values[p]);
        continue;
      }
      live = true;
      if (step.type === 'key') keys.add(step.key);
      else if (step.type === 'index') indexes.add(step.index);
    }
    this.values = values.length ? values : NO_VALUES;
    this.live = live;
    this.#keys = keys;
    this.#indexes = indexes;
  }

  /** The state at object member `key` of this node. */
  child(key: string): PathState<T> {
    if (!this.live) return this.#dead();
    // keys no step names all lead to the same state: one cached transition covers them
    if (!this.#keys.has(key)) return (this.#otherKey ??= this.#advance('key', undefined));
    this.#byKey ??= new Map();
    let next = this.#byKey.get(key);
    if (!next) this.#byKey.set(key, (next = this.#advance('key', key)));
    return next;
  }

  /** The state at array element `index` of this node. */
  element(index: number): PathState<T> {
    if (!this.live) return this.#dead();
    if (!this.#indexes.has(index)) return (this.#otherIndex ??= this.#advance('index', undefined));
    this.#byIndex ??= new Map();
    let next = this.#byIndex.get(index);
    if (!next) this.#byIndex.set(index, (next = this.#advance('index', index)));
    return next;
  }

  #dead(): PathState<T> {
    return (this.#automaton.dead ??= intern(this.#automaton, []));
  }

  #advance(type: 'key' | 'index', value: string | number | undefined): PathState<T> {
    const next: number[] = [];
    for (const encoded of this.#positions) {
      const step = this.#automaton.patterns[Math.floor(encoded / STRIDE)].steps[encoded % STRIDE];
      if (step === undefined) continue;
      if (step.deep) next.push(encoded);
      const hit =
        step.type === 'any' ||
        (step.type === 'key' && type === 'key' && step.key === value) ||
        (step.type === 'index' && type === 'index' && step.index === value);
      if (hit) next.push(encoded + 1);
    }
    return intern(this.#automaton, next);
  }
}

function intern<T>(automaton: Automaton<T>, positions: number[]): PathState<T> {
  positions.sort((a, b) => a - b);
  let unique = positions;
  if (positions.some((p, i) => i > 0 && positions[i - 1] === p)) unique = positions.filter((p, i) => i === 0 || positions[i - 1] !== p);
  const id = unique.join(',');
  let state = automaton.states.get(id);
  if (!state) automaton.states.set(id, (state = new PathState(automaton, unique)));
  return state;
}

/**
 * Compiles patterns, each carrying a value, into the root state of their automaton.
 * Throws STRANGLER_ERR_COMPARISON_BAD_PATH on the first bad pattern (validate rules first).
 */
export function compilePaths<T>(entries: ReadonlyArray<readonly [pattern: string, value: T]>): PathState<T> {
  const automaton: Automaton<T> = {
    patterns: entries.map(([pattern]) => parsePath(pattern)),
    values: entries.map(([, value]) => value),
    states: new Map(),
  };
  return intern(
    automaton,
    entries.map((_, i) => i * STRIDE),
  );
}

/** The state reached by following a concrete path from root. */
export function walkPath<T>(root: PathState<T>, segments: readonly Segment[]): PathState<T> {
  let state = root;
  for (const s of segments) state = typeof s === 'number' ? state.element(s) : state.child(s);
  return state;
}

export interface PathMatcher {
  readonly source: string;
  /** the concrete path is matched by the pattern */
  matches(concretePath: string): boolean;
  /** the concrete path or one of its ancestors is matched (a node below an ignored one is ignored too) */
  covers(concretePath: string): boolean;
}

/** One pattern as a matcher over concrete paths. Build it once, use it for every comparison. */
export function compilePath(pattern: string): PathMatcher {
  const root = compilePaths([[pattern, true]]);
  return {
    source: pattern,
    matches: (concretePath) => walkPath(root, parseConcretePath(concretePath)).values.length > 0,
    covers: (concretePath) => coversPath(root, parseConcretePath(concretePath)),
  };
}

/** Whether the node at segments, or one of its ancestors, is matched by a pattern of root. */
export function coversPath<T>(root: PathState<T>, segments: readonly Segment[]): boolean {
  let state = root;
  if (state.values.length) return true;
  for (const s of segments) {
    state = typeof s === 'number' ? state.element(s) : state.child(s);
    if (state.values.length) return true;
    if (!state.live) return false;
  }
  return false;
}
