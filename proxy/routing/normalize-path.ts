import type { PathsConfig } from '../config/schema.ts';
import { errors, type StranglerError } from '../errors.ts';

/**
 * The route is decided on the path as the monolith will read it, and the upstream is sent
 * exactly that path. Forwarded unchanged, `/api%2Frooms/1`, `/api//rooms/1`, `//x/api/rooms/1`
 * or `/api/x/../rooms/1` missed the cut-over route and legacy served room 1 anyway: the monolith
 * rawurldecode()s its path, parse_url() reads `//x/…` as a host, and a web server in front of
 * PHP merges slashes and resolves dot segments. Normalising first and forwarding the result
 * closes that gap whichever way the monolith reads a path: both sides see one path.
 *
 * Like Envoy's normalize_path, merge_slashes and path_with_escaped_slashes_action.
 * escapedSlashes defaults to decode: the monolith decodes %2F before it routes, so decode serves
 * every such request as the monolith already did; keep would forward a %2F that legacy reads as
 * a slash the route table never saw (the bypass), and reject would turn requests legacy answers
 * today into 400s. %5C and \ are read as / too, as browsers and Node's URL parser do.
 */

/**
 * Longest path (the target without its query) the proxy accepts, as Apache's LimitRequestLine
 * and nginx's default header buffers do; also find-my-way's maxParamLength, so no parameter of
 * an accepted path is ever too long to match.
 */
export const MAX_PATH_LENGTH = 8 * 1024;

export type PathRejectionReason = 'bad-percent' | 'control-character' | 'escaped-slash' | 'fragment' | 'not-origin-form' | 'too-long';

export interface PathRejection {
  readonly rejected: PathRejectionReason;
}

const rejection = (rejected: PathRejectionReason): PathRejection => Object.freeze({ rejected });
const BAD_PERCENT = rejection('bad-percent');
const CONTROL_CHARACTER = rejection('control-character');
const ESCAPED_SLASH = rejection('escaped-slash');
const FRAGMENT = rejection('fragment');
const NOT_ORIGIN_FORM = rejection('not-origin-form');
const TOO_LONG = rejection('too-long');

const SLASH = 0x2f;
const BACKSLASH = 0x5c;
const DOT = 0x2e;
const PERCENT = 0x25;
const QUERY = 0x3f;
const HASH = 0x23;

/** http://host:port/path?query, as a client talking to a proxy may send it (RFC 9112 3.2.2) */
const ABSOLUTE_FORM = /^https?:\/\/[^/?#]*/i;

/**
 * The origin-form target (path, then the query exactly as sent) the route is decided on and the
 * upstream receives, or why the target is refused. A target that is already normal comes back
 * as the same string after one scan, with nothing allocated.
 */
export function normalizePath(target: string, options: PathsConfig): string | PathRejection {
  if (isNormal(target)) return target.length <= MAX_PATH_LENGTH || pathEnd(target, 0) <= MAX_PATH_LENGTH ? target : TOO_LONG;
  return normalizeSlowly(target, options);
}

export function isPathRejection(value: string | PathRejection): value is PathRejection {
  return typeof value !== 'string';
}

/** The catalogued error a client gets for a refused target. */
export function buildPathError({ rejected }: PathRejection): StranglerError {
  if (rejected === 'escaped-slash') return errors.pathEscapedSlash();
  if (rejected === 'fragment') return errors.pathFragment();
  if (rejected === 'too-long') return errors.pathTooLong(MAX_PATH_LENGTH);
  if (rejected === 'control-character') return errors.pathControlCharacter();
  return errors.badRequestTarget();
}

/**
 * origin-form, and no %, \, #, // or dot segment before the query: nothing to change. Plain
 * comparisons: under callgrind this costs about 1.25× a bare charCodeAt loop over the path, where
 * a lookup table, indexOf calls and a regular expression each counted as much or more.
 */
function isNormal(target: string): boolean {
  if (target.charCodeAt(0) !== SLASH) return false;
  for (let i = 1; i < target.length; i++) {
    const c = target.charCodeAt(i);
    if (c === QUERY) return true;
    if (c === PERCENT || c === BACKSLASH || c === HASH) return false;
    if (c === DOT && target.charCodeAt(i - 1) === SLASH && isDotSegmentAt(target, i)) return false;
    if (c === SLASH && target.charCodeAt(i - 1) === SLASH) return false;
  }
  return true;
}

/** `.` or `..` starting at i is a whole segment (a charCodeAt past the end is NaN) */
function isDotSegmentAt(target: string, i: number): boolean {
  let next = target.charCodeAt(i + 1);
  if (next === DOT) next = target.charCodeAt(i + 2);
  return next !== next || next === SLASH || next === QUERY || next === HASH;
}

function pathEnd(target: string, from: number): number {
  const q = target.indexOf('?', from);
  return q === -1 ? target.length : q;
}

function normalizeSlowly(target: string, options: PathsConfig): string | PathRejection {
  let start = 0;
  if (target.charCodeAt(0) !== SLASH) {
    if (target === '') return '/';
    // asterisk-form (OPTIONS *) names no path: legacy gets it as sent
    if (target === '*') return target;
    const authority = ABSOLUTE_FORM.exec(target);
    if (authority === null) return NOT_ORIGIN_FORM;
    start = authority[0].length;
  }
  const end = pathEnd(target, start);
  if (end - start > MAX_PATH_LENGTH) return TOO_LONG;
  const { normalize, mergeSlashes, escapedSlashes } = options;

  // split into decoded segments; segments[0] is what precedes the leading slash ('')
  const segments: string[] = [];
  let segment = '';
  let from = start;
  for (let i = start; i < end; i++) {
    const c = target.charCodeAt(i);
    if (c === HASH) return FRAGMENT;
    if (c === SLASH) {
      segments.push(segment + target.slice(from, i));
      segment = '';
      from = i + 1;
    } else if (c === BACKSLASH) {
      if (escapedSlashes === 'keep') continue;
      if (escapedSlashes === 'reject') return ESCAPED_SLASH;
      segments.push(segment + target.slice(from, i));
      segment = '';
      from = i + 1;
    } else if (c === PERCENT) {
      const hi = hexValue(target.charCodeAt(i + 1));
      const lo = hexValue(target.charCodeAt(i + 2));
      if (hi < 0 || lo < 0) return BAD_PERCENT;
      const decoded = hi * 16 + lo;
      // %0A, %00…: PHP decodes them and PCRE's $ matches before a final newline, so
      // /api/rooms%0A would reach legacy's /api/rooms behind a route at cutover
      if (decoded < 0x20 || decoded === 0x7f) return CONTROL_CHARACTER;
      // one pass: a decoded character is never read again, so %252F stays %252F
      if (decoded === SLASH || decoded === BACKSLASH) {
        if (escapedSlashes === 'reject') return ESCAPED_SLASH;
        if (escapedSlashes === 'decode') {
          segments.push(segment + target.slice(from, i));
          segment = '';
          from = i + 3;
        }
      } else if (normalize && isUnreserved(decoded)) {
        segment += target.slice(from, i) + String.fromCharCode(decoded);
        from = i + 3;
      }
      i += 2;
    }
  }
  segments.push(segment + target.slice(from, end));

  // RFC 3986 5.2.4 on whole segments: `..` above the root stays at the root
  const kept: string[] = [];
  const last = segments.length - 1;
  for (let k = 1; k <= last; k++) {
    const s = segments[k];
    if (s === '' && mergeSlashes && k < last) continue;
    if (normalize && (s === '.' || s === '..')) {
      if (s === '..') kept.pop();
      if (k === last) kept.push('');
      continue;
    }
    kept.push(s);
  }
  return `/${kept.join('/')}${target.slice(end)}`;
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  return -1;
}

/** RFC 3986 unreserved: ALPHA / DIGIT / - . _ ~ — decoding them changes no meaning */
function isUnreserved(c: number): boolean {
  return (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c === 0x2d || c === DOT || c === 0x5f || c === 0x7e;
}
