import { isDeeperThan, MAX_JSON_DEPTH } from '../comparison/json-value.ts';

/**
 * The shape of a parity report read back from a file (strangler diff report --from), checked
 * field by field before anything renders it: the file is input, whoever wrote it. Unknown fields
 * are allowed (a newer strangler may add some); known ones must have their type.
 */

/** Problems listed at most; the first is what the user is told. */
const MAX_PROBLEMS = 20;

type Check = (value: unknown, at: string, problems: string[]) => void;

function describeType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value);
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

const expect =
  (what: string, test: (value: unknown) => boolean): Check =>
  (value, at, problems) => {
    if (value === undefined) problems.push(`${at} is missing: it must be ${what}`);
    else if (!test(value)) problems.push(`${at} must be ${what}, not ${describeType(value)}`);
  };

const text = expect('a string', (v) => typeof v === 'string');
const flag = expect('true or false', (v) => typeof v === 'boolean');
const count = expect('a whole number ≥ 0', (v) => Number.isSafeInteger(v) && (v as number) >= 0);
const status = expect('an HTTP status from 100 to 999', (v) => Number.isInteger(v) && (v as number) >= 100 && (v as number) <= 999);
const ms = expect('a number of milliseconds ≥ 0', (v) => typeof v === 'number' && Number.isFinite(v) && v >= 0);
const percent = expect('null or a percentage from 0 to 100', (v) => v === null || (typeof v === 'number' && v >= 0 && v <= 100));
const oneOf = (...values: string[]): Check => expect(values.map((v) => JSON.stringify(v)).join(', ').replace(/, ([^,]*)$/, ' or $1'), (v) => values.includes(v as string));

/** A value taken from a response (any JSON), bounded in depth because rendering it recurses. */
const jsonValue: Check = (value, at, problems) => {
  if (isDeeperThan(value, MAX_JSON_DEPTH)) problems.push(`${at} nests more than ${MAX_JSON_DEPTH} levels deep`);
};

const optional =
  (check: Check): Check =>
  (value, at, problems) => {
    if (value !== undefined) check(value, at, problems);
  };

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

const object =
  (fields: Record<string, Check>): Check =>
  (value, at, problems) => {
    if (!isPlainObject(value)) return expect('an object', () => false)(value, at || 'the file', problems);
    for (const [key, check] of Object.entries(fields)) {
      if (problems.length >= MAX_PROBLEMS) return;
      check(value[key], at ? `${at}.${key}` : key, problems);
    }
  };

const arrayOf =
  (check: Check): Check =>
  (value, at, problems) => {
    if (!Array.isArray(value)) return expect('an array', () => false)(value, at, problems);
    for (let i = 0; i < value.length && problems.length < MAX_PROBLEMS; i++) check(value[i], `${at}[${i}]`, problems);
  };

const textRecord: Check = (value, at, problems) => {
  if (!isPlainObject(value)) return expect('an object of strings', () => false)(value, at, problems);
  for (const [key, v] of Object.entries(value)) {
    if (problems.length >= MAX_PROBLEMS) return;
    // the key is the file's text and ends up on a terminal: JSON leaves C1 controls raw
    text(v, `${at}[${JSON.stringify(key).replace(/[\u007f-\u009f\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)}]`, problems);
  }
};

const storedResponse = object({ status, headers: textRecord, body: text, bodyEncoding: oneOf('utf8', 'base64'), truncated: flag, decodedFrom: optional(text) });

const routeParity = object({
  route: text,
  matches: count,
  mismatches: count,
  candidateErrors: count,
  skipped: count,
  compared: count,
  parity: percent,
  topDifferences: arrayOf(
    object({
      pattern: text,
      count,
      example: object({ at: text, request: text, path: text, legacy: jsonValue, service: jsonValue }),
    }),
  ),
  topErrors: arrayOf(object({ reason: text, count })),
  noise: arrayOf(
    object({
      pattern: text,
      kind: oneOf('value', 'mask', 'order', 'body'),
      masks: optional(arrayOf(text)),
      count,
      example: object({ path: text, first: jsonValue, second: jsonValue }),
      suggestion: text,
    }),
  ),
});

const comparisonRecord = object({
  at: text,
  route: text,
  source: oneOf('shadow', 'replay'),
  outcome: oneOf('match', 'mismatch', 'candidate-error', 'skipped'),
  primary: text,
  service: text,
  request: object({
    method: text,
    url: text,
    headers: textRecord,
    body: optional(text),
    bodyEncoding: optional(oneOf('utf8', 'base64')),
    truncated: optional(flag),
  }),
  legacy: optional(storedResponse),
  serviceResponse: optional(storedResponse),
  differences: arrayOf(
    object({
      path: text,
      kind: oneOf('status', 'header', 'changed', 'missing', 'added', 'type', 'body'),
      primary: jsonValue,
      candidate: jsonValue,
    }),
  ),
  noise: arrayOf(text),
  reason: optional(text),
  legacyMs: optional(ms),
  serviceMs: optional(ms),
});

const parityReport = object({
  generatedAt: text,
  window: object({ from: text, to: text }),
  source: oneOf('shadow', 'replay', 'all'),
  routes: arrayOf(routeParity),
  examples: arrayOf(comparisonRecord),
});

/**
 * What keeps value from being a ParityReport, each problem starting with the path of its field
 * (`routes[0].matches must be a whole number ≥ 0, not a string`); empty when it is one.
 * At most MAX_PROBLEMS are listed.
 */
export function validateParityReport(value: unknown): string[] {
  const problems: string[] = [];
  parityReport(value, '', problems);
  return problems.slice(0, MAX_PROBLEMS);
}
