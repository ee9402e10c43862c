/**
 * The endpoint pattern of a request path: the query and fragment are dropped and every segment
 * that names one thing rather than a kind of thing becomes `:id`, so /api/rooms/42 and
 * /api/rooms/43 are counted as one endpoint, /api/rooms/:id.
 *
 * A segment is an id when it is a number, a UUID, a hex string of 8 or more characters, an
 * e-mail address, or has a digit anywhere (u123, 2024-01-05, order-42-x, a1b2c3): a missed id
 * splits one endpoint into thousands of rows, a word taken for an id only merges two rows.
 * API versions (v1, v2.1) are kept: they name a kind, not a thing. Other words are kept as
 * written, case included.
 */

const ID = ':id';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const LONG_HEX = /^[0-9a-f]{8,}$/i;
const EMAIL = /^[^@/]+@[^@/]+\.[^@/]+$/;
const VERSION = /^v\d{1,2}(\.\d{1,2})?$/i;
const DIGIT = /\d/;

export function collapsePath(path: string): string {
  const pathname = requestPath(path);
  if (!pathname.startsWith('/')) return pathname;
  return pathname
    .split('/')
    .map((segment) => (isIdSegment(segment) ? ID : segment))
    .join('/');
}

/** The path of a request target: query and fragment dropped; an absolute-form target (a request
 *  line sent to a forward proxy, http://host/path) loses scheme and host. */
export function requestPath(target: string): string {
  const end = target.search(/[?#]/);
  const path = end === -1 ? target : target.slice(0, end);
  const absolute = /^[a-z][a-z0-9+.-]*:\/\/[^/]*/i.exec(path);
  return absolute ? path.slice(absolute[0].length) || '/' : path;
}

/** Whether one path segment (as it appears in the URL, maybe percent-encoded) names a single thing. */
export function isIdSegment(segment: string): boolean {
  if (segment === '') return false;
  const text = decode(segment);
  if (VERSION.test(text)) return false;
  return DIGIT.test(text) || UUID.test(text) || LONG_HEX.test(text) || EMAIL.test(text);
}

/** Digits of a percent escape (%20) are not digits of the segment. */
function decode(segment: string): string {
  if (!segment.includes('%')) return segment;
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment.replace(/%[0-9a-f]{2}/gi, '_');
  }
}
