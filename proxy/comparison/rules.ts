import { errors } from '../errors.ts';
import { findPathProblem } from './json-path.ts';
import { closest } from '../util/closest.ts';
import { compileMask } from './mask.ts';

/**
 * Per-route comparison rules: their shape, their defaults, and their validation, side by side.
 * Paths are JSONPath-like patterns (see json-path.ts).
 */

export const NORMALIZERS = ['trim', 'lowercase', 'timestamp'] as const;
/**
 * trim, lowercase: string values; timestamp: compare only that both are timestamps, not their
 * values; { mask: <regex> }: every match in a string value is masked on both sides (mask.ts),
 * so a random token does not hide the rest of the string.
 */
export type Normalizer = (typeof NORMALIZERS)[number] | { readonly mask: string };

export interface ComparisonRules {
  /** response headers compared, lower case; content-type on its media type and charset only */
  readonly headers: readonly string[];
  /** paths whose differences are noise, never mismatches */
  readonly ignore: readonly string[];
  /** paths of arrays compared as multisets */
  readonly unordered: readonly string[];
  /** path → largest absolute difference between two numbers that still matches */
  readonly tolerance: Readonly<Record<string, number>>;
  /** path → normalizers applied, in order, to both values before they are compared; `body`: masks of a non-JSON body */
  readonly normalize: Readonly<Record<string, readonly Normalizer[]>>;
  readonly html: { readonly collapseWhitespace: boolean };
}

/** Rules as written in routes.yaml: every key optional. */
export interface RulesInput {
  headers?: readonly string[];
  ignore?: readonly string[];
  unordered?: readonly string[];
  tolerance?: Readonly<Record<string, number>>;
  normalize?: Readonly<Record<string, readonly Normalizer[]>>;
  html?: { collapseWhitespace?: boolean };
}

export const DEFAULT_RULES: ComparisonRules = deepFreeze({
  headers: ['content-type'],
  ignore: [],
  unordered: [],
  tolerance: {},
  normalize: {},
  html: { collapseWhitespace: false },
});

export const RULE_KEYS = ['headers', 'ignore', 'unordered', 'tolerance', 'normalize', 'html'] as const;
const HTML_KEYS = ['collapseWhitespace'] as const;

/**
 * Headers that differ on every response, or describe the transfer rather than the answer.
 * Comparing them would make every comparison a mismatch, so listing one is a problem.
 */
export const NEVER_COMPARED_HEADERS: ReadonlySet<string> = new Set([
  'date',
  'set-cookie',
  'x-request-id',
  'request-id',
  'x-correlation-id',
  'traceparent',
  'tracestate',
  'age',
  'expires',
  'server-timing',
  'x-response-time',
  'x-runtime',
  'content-length',
  'transfer-encoding',
  'connection',
  'keep-alive',
  'x-strangler-target',
]);

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/**
 * Every problem with raw rules, each as `<where>: <what to fix>` (where is a key path such as
 * `ignore[1]` or `tolerance["$.data[*].score"]`); empty when the rules are usable.
 */
export function validateRules(raw: unknown): string[] {
  const problems: string[] = [];
  const report = (where: string, message: string) => problems.push(`${where}: ${message}`);
  if (!isPlainObject(raw)) {
    report('rules', `must be a mapping with any of ${RULE_KEYS.join(', ')}`);
    return problems;
  }
  for (const key of Object.keys(raw)) {
    if ((RULE_KEYS as readonly string[]).includes(key)) continue;
    const guess = closest(key, RULE_KEYS);
    report(key, `unknown key "${key}"${guess ? `; did you mean "${guess}"?` : `; known keys are ${RULE_KEYS.join(', ')}`}`);
  }

  if (raw.headers !== undefined) {
    if (!isStringList(raw.headers)) report('headers', 'must be a list of header names, e.g. [content-type, etag]');
    else
      raw.headers.forEach((name, i) => {
        const lower = name.toLowerCase();
        if (!TOKEN.test(name)) report(`headers[${i}]`, `"${name}" is not a header name`);
        else if (NEVER_COMPARED_HEADERS.has(lower))
          report(`headers[${i}]`, `${lower} changes on every response (or describes the transfer) and is never compared; remove it`);
      });
  }

  for (const key of ['ignore', 'unordered'] as const) {
    const list = raw[key];
    if (list === undefined) continue;
    if (!isStringList(list)) report(key, `must be a list of paths, e.g. [$.generated_at, $.data[*].created_at]`);
    else
      list.forEach((path, i) => {
        const problem = findPathProblem(path);
        if (problem) report(`${key}[${i}]`, problem);
      });
  }

  if (raw.tolerance !== undefined) {
    if (!isPlainObject(raw.tolerance)) report('tolerance', 'must map paths to numbers, e.g. { "$.data[*].score": 0.01 }');
    else
      for (const [path, value] of Object.entries(raw.tolerance)) {
        const where = `tolerance[${JSON.stringify(path)}]`;
        const problem = findPathProblem(path);
        if (problem) report(where, problem);
        if (typeof value !== 'number' || !Number.isFinite(value) || value < 0)
          report(where, `${JSON.stringify(value)} is not a tolerance; write a number >= 0, the largest absolute difference that still matches`);
      }
  }

  if (raw.normalize !== undefined) {
    if (!isPlainObject(raw.normalize)) report('normalize', `must map paths to lists of normalizers, e.g. { "$.data.name": [trim, lowercase] }`);
    else
      for (const [path, list] of Object.entries(raw.normalize)) {
        const where = `normalize[${JSON.stringify(path)}]`;
        // `body` is a non-JSON body's text: only masks apply to it
        const problem = path === 'body' ? undefined : findPathProblem(path);
        if (problem) report(where, problem);
        if (path === 'body' && Array.isArray(list) && list.some((n) => typeof n === 'string')) report(where, 'a non-JSON body takes only masks, e.g. { mask: "(?<=nonce=\")[0-9a-f]{10}" }');
        if (!Array.isArray(list) || list.length === 0) {
          report(where, `must be a non-empty list of normalizers (${NORMALIZERS.join(', ')}, or { mask: <regex> })`);
          continue;
        }
        list.forEach((item: unknown, i) => {
          if (isPlainObject(item)) {
            const problem = findMaskProblem(item);
            if (problem) report(`${where}[${i}]`, problem);
            return;
          }
          const name = String(item);
          if (typeof item === 'string' && (NORMALIZERS as readonly string[]).includes(name)) return;
          const guess = closest(name, NORMALIZERS);
          report(`${where}[${i}]`, `unknown normalizer "${name}"${guess ? `; did you mean "${guess}"?` : ''}; normalizers are ${NORMALIZERS.join(', ')}, or { mask: <regex> }`);
        });
      }
  }

  if (raw.html !== undefined) {
    if (!isPlainObject(raw.html)) report('html', 'must be a mapping, e.g. { collapseWhitespace: true }');
    else {
      for (const key of Object.keys(raw.html)) {
        if ((HTML_KEYS as readonly string[]).includes(key)) continue;
        const guess = closest(key, HTML_KEYS);
        report(`html.${key}`, `unknown key "${key}"${guess ? `; did you mean "${guess}"?` : `; known keys are ${HTML_KEYS.join(', ')}`}`);
      }
      const collapse = raw.html.collapseWhitespace;
      if (collapse !== undefined && typeof collapse !== 'boolean') report('html.collapseWhitespace', 'must be true or false');
    }
  }
  return problems;
}

/** Rules with defaults filled in, frozen; throws STRANGLER_ERR_COMPARISON_RULES_INVALID listing every problem. */
export function resolveRules(raw: RulesInput = {}): ComparisonRules {
  const problems = validateRules(raw);
  if (problems.length) throw errors.comparisonRulesInvalid(problems);
  return deepFreeze({
    headers: [...new Set((raw.headers ?? DEFAULT_RULES.headers).map((h) => h.toLowerCase()))],
    ignore: [...(raw.ignore ?? [])],
    unordered: [...(raw.unordered ?? [])],
    tolerance: { ...raw.tolerance },
    normalize: Object.fromEntries(Object.entries(raw.normalize ?? {}).map(([path, list]) => [path, list.map((n) => (typeof n === 'string' ? n : { mask: n.mask }))])),
    html: { collapseWhitespace: raw.html?.collapseWhitespace ?? DEFAULT_RULES.html.collapseWhitespace },
  });
}

/** A mask normalizer is { mask: <regex> }: a regular expression that matches the varying token, never the empty string. */
function findMaskProblem(item: Record<string, unknown>): string | undefined {
  const extra = Object.keys(item).filter((k) => k !== 'mask');
  if (extra.length) return `unknown key "${extra[0]}"; a mask normalizer is { mask: <regex> }`;
  if (typeof item.mask !== 'string' || item.mask === '') return 'mask must be a regular expression matching the varying token, e.g. { mask: "(?<=secret=)[A-Za-z0-9]{10}" }';
  let re: RegExp;
  try {
    re = compileMask(item.mask);
  } catch (err) {
    return `mask ${JSON.stringify(item.mask)} is not a regular expression (${(err as Error).message})`;
  }
  re.lastIndex = 0;
  if (re.test('')) return `mask ${JSON.stringify(item.mask)} matches the empty string; write one that matches only the varying token`;
  return undefined;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isStringList(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((v) => typeof v === 'string');
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}
