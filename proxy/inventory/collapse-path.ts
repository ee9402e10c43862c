/**
 * The endpoint pattern of a request path: the query and fragment are dropped and every segment
 * that names one thing rather than a kind of thing becomes `:id`, so /api/rooms/42 and
 * /api/rooms/43 are counted as one endpoint, /api/rooms/:id.
 *
 * A segment is an id when it is a number, a UUID, a hex string of 8 or more characters, an
 * e-mail address, or has a digit anywhere (u123, 2024-01-05, order-42-x, a1b2c3): a missed id
 * splits one endpoint into thousands of rows, a word taken for an id only merges two rows.
 * Kept, as they name a kind, not a thing:
 *  - versions: v1, v2.1, and dotted numbers 1.0, 2.0.1 (WordPress's /wp-json/oembed/1.0/embed);
 *  - words with one short run of digits among at least two letters: numeronyms and names such
 *    as a11y, i18n, l10n, k8s, utf8, oauth2, rss2, alone or joined to plain words by - or _
 *    (wp-a11y); at most 100 per prefix, so an id of that shape cannot split an endpoint into
 *    thousands. A part of digits alone (order-42-x, my-post-2024) is still an id.
 * Other words are kept as written, case included.
 */

const ID = ':id';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const LONG_HEX = /^[0-9a-f]{8,}$/i;
const EMAIL = /^[^@/]+@[^@/]+\.[^@/]+$/;
const VERSION = /^(v\d{1,2}(\.\d{1,2})?|\d{1,2}\.\d{1,2}(\.\d{1,2})?)$/i;
const WORD_WITH_DIGITS = /^[a-z]*\d{1,2}[a-z]*$/i;
const LETTERS = /[a-z]/gi;
const PLAIN_WORD = /^[a-z]+$/i;
const DIGIT = /\d/;

// Static files, grouped per top folder and extension (GET /wp-content/**/*.css) instead of one
// row per file: they are served by the web server, not strangled route by route.
export const ASSET_EXTENSIONS = [
  'css', 'js', 'mjs', 'map',
  'png', 'jpg', 'jpeg', 'gif', 'webp', 'avif', 'svg', 'ico', 'bmp',
  'woff', 'woff2', 'ttf', 'otf', 'eot',
  'mp4', 'webm', 'ogg', 'mp3', 'wav',
] as const;
const ASSET = new RegExp(`\\.(${ASSET_EXTENSIONS.join('|')})$`, 'i');

export function collapsePath(path: string): string {
  const pathname = requestPath(path);
  if (!pathname.startsWith('/')) return pathname;
  return pathname
    .split('/')
    .map((segment) => (isIdSegment(segment) ? ID : segment))
    .join('/');
}

// The group of a static file's path, e.g. /wp-content/**/*.css for
// /wp-content/themes/twentytwentythree/style.css and /*.ico for /favicon.ico; undefined when the
// path is not a static file's. The extension is lower-cased: .PNG and .png are one group.
export function assetPattern(path: string): string | undefined {
  const match = ASSET.exec(path);
  if (!match || !path.startsWith('/')) return undefined;
  const ext = match[1].toLowerCase();
  const slash = path.indexOf('/', 1);
  return slash === -1 ? `/*.${ext}` : `${path.slice(0, slash)}/**/*.${ext}`;
}

/** The query of a request target, without `?` and fragment; undefined when it has none. */
export function requestQuery(target: string): string | undefined {
  const start = target.indexOf('?');
  if (start === -1) return undefined;
  const end = target.indexOf('#', start);
  const query = end === -1 ? target.slice(start + 1) : target.slice(start + 1, end);
  return query === '' ? undefined : query;
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
  if (UUID.test(text) || LONG_HEX.test(text) || EMAIL.test(text)) return true;
  if (VERSION.test(text) || isWordWithDigits(text)) return false;
  return DIGIT.test(text);
}

/** a11y, utf8, and hyphenated names made of such words and plain ones (wp-a11y, jetpack-i18n). */
function isWordWithDigits(text: string): boolean {
  return text.split(/[-_]/).every((part) => PLAIN_WORD.test(part) || (WORD_WITH_DIGITS.test(part) && (part.match(LETTERS)?.length ?? 0) >= 2));
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
