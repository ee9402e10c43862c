import { isUtf8 } from 'node:buffer';
import { isJsonMedia, looksLikeJson, parseMediaType } from '../comparison/body.ts';
import { parseConcretePath } from '../comparison/json-path.ts';

/**
 * Redaction of everything a parallel run or a recording stores: headers, bodies, URLs and the
 * values quoted in differences. Secrets are replaced by REDACTED before anything is written, so a
 * comparison store, a recording file or a report never holds a password.
 */

export const REDACTED = '[redacted]';

/** Redacted whatever the config says: credentials and sessions. */
export const ALWAYS_REDACTED_HEADERS: readonly string[] = ['authorization', 'proxy-authorization', 'cookie', 'set-cookie'];

/**
 * Body fields, form parameters and query parameters redacted whatever the config says. Names
 * match ignoring case, "_" and "-": `accessToken`, `ACCESS-TOKEN` and `access_token` are one name.
 */
export const ALWAYS_REDACTED_FIELDS: readonly string[] = ['password', 'passwd', 'secret', 'token', 'access_token', 'refresh_token', 'api_key', 'apikey', 'authorization'];

export interface RedactorOptions {
  /** more body fields and query/form parameters to redact */
  fields?: readonly string[];
  /** more header names to redact (any casing) */
  headers?: readonly string[];
}

export interface RedactedBody {
  body: string;
  bodyEncoding: 'utf8' | 'base64';
  /** the body was cut at the cap */
  truncated: boolean;
}

export interface Redactor {
  /** Lower-case names, repeated headers joined with ", ", secrets replaced. */
  headers(headers: Record<string, string | string[] | undefined>): Record<string, string>;
  /**
   * Redacts JSON and form bodies, then cuts at cap bytes (redacting first: a cut JSON body could no
   * longer be read). Bodies that are not UTF-8 come back as base64.
   */
  body(body: Buffer, contentType: string | undefined, cap: number): RedactedBody;
  /** Query parameters redacted in readable form: `/login?password=[redacted]`. */
  url(url: string): string;
  /**
   * A value quoted in a comparison Difference at `path` (`$.user.password`, `headers.cookie`,
   * `body`): REDACTED when the path goes through a redacted field, else the value with any
   * secrets inside it redacted. Never changes its argument.
   */
  value(path: string, value: unknown): unknown;
}

export function createRedactor(options: RedactorOptions = {}): Redactor {
  const headerNames = new Set([...ALWAYS_REDACTED_HEADERS, ...(options.headers ?? [])].map((h) => h.toLowerCase()));
  const fieldNames = new Set([...ALWAYS_REDACTED_FIELDS, ...(options.fields ?? [])].map(normalizeField));
  const isField = (name: string) => fieldNames.has(normalizeField(name));

  return {
    headers(headers) {
      const out: Record<string, string> = {};
      for (const name in headers) {
        const value = headers[name];
        if (value === undefined) continue;
        const lower = name.toLowerCase();
        const joined = Array.isArray(value) ? value.join(', ') : value;
        out[lower] = headerNames.has(lower) ? REDACTED : out[lower] === undefined ? joined : `${out[lower]}, ${joined}`;
      }
      return out;
    },

    body(body, contentType, cap) {
      const utf8 = isUtf8(body);
      // latin1 maps bytes to characters one to one, so a body that is not UTF-8 survives the round trip
      const encoding = utf8 ? 'utf8' : 'latin1';
      const media = parseMediaType(contentType);
      let bytes = body;
      if (isJsonMedia(media) || looksLikeJson(body)) {
        const text = body.toString(encoding);
        const redacted = redactJsonText(text, isField);
        if (redacted !== text) bytes = Buffer.from(redacted, encoding);
      } else if (media?.type === 'application/x-www-form-urlencoded') {
        const text = body.toString(encoding);
        const redacted = redactParams(text, isField);
        if (redacted !== text) bytes = Buffer.from(redacted, encoding);
      }
      const truncated = bytes.length > cap;
      if (!utf8) return { body: (truncated ? bytes.subarray(0, cap) : bytes).toString('base64'), bodyEncoding: 'base64', truncated };
      let end = truncated ? cap : bytes.length;
      // never split a character: back off to the start of the one the cap falls in
      while (end > 0 && end < bytes.length && (bytes[end] & 0xc0) === 0x80) end--;
      return { body: bytes.subarray(0, end).toString('utf8'), bodyEncoding: 'utf8', truncated };
    },

    url(url) {
      const q = url.indexOf('?');
      if (q < 0) return url;
      const hash = url.indexOf('#', q);
      const query = hash < 0 ? url.slice(q + 1) : url.slice(q + 1, hash);
      return url.slice(0, q + 1) + redactParams(query, isField) + (hash < 0 ? '' : url.slice(hash));
    },

    value(path, value) {
      if (value === undefined) return value;
      if (path.startsWith('headers.')) return headerNames.has(path.slice('headers.'.length).toLowerCase()) ? REDACTED : value;
      if (path.startsWith('$') && pathKeys(path).some(isField)) return REDACTED;
      return redactDeep(value, isField, path === 'body');
    },
  };
}

function normalizeField(name: string): string {
  return name.toLowerCase().replace(/[-_]/g, '');
}

type IsField = (name: string) => boolean;

/** The object keys along a concrete path; a path that does not parse is read leniently. */
function pathKeys(path: string): string[] {
  try {
    return parseConcretePath(path).filter((s): s is string => typeof s === 'string');
  } catch {
    return [...path.matchAll(/\.([^.[\]]+)|\['((?:[^'\\]|\\.)*)'\]|\["((?:[^"\\]|\\.)*)"\]/g)].map((m) => m[1] ?? m[2] ?? m[3]);
  }
}

function redactDeep(value: unknown, isField: IsField, isBodyText: boolean): unknown {
  if (typeof value === 'string') {
    // previews and excerpts are JSON or text cut anywhere: read them as broken JSON and as params
    const json = redactJsonText(value, isField);
    return isBodyText ? redactLooseParams(json, isField) : json;
  }
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) return value.map((v) => redactDeep(v, isField, false));
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) out[key] = isField(key) ? REDACTED : redactDeep(v, isField, false);
  return out;
}

const REDACTED_JSON = JSON.stringify(REDACTED);
const STRING_TOKEN = /"(?:[^"\\]|\\.)*"/y;
const KEY_TOKEN = /"([^"\\]*)"\s*:\s*/y;
const COLON = /\s*:\s*/y;

/**
 * Replaces the value of every redacted key, at any depth, in JSON text, keeping every other byte
 * as it was (a replayed body stays the body that was sent; big numbers keep their digits). Also
 * redacts inside string values that hold JSON themselves. Text that is not valid JSON (cut at a
 * cap, or broken) gets a second, looser pass that tries every quote as the start of a key.
 */
function redactJsonText(text: string, isField: IsField): string {
  if (!text.includes('"')) return text;
  const out = scanJson(text, isField);
  let valid = true;
  try {
    JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch {
    valid = false;
  }
  return valid ? out : scanLoose(out, isField);
}

function scanJson(text: string, isField: IsField): string {
  let out = '';
  let copied = 0;
  let i = text.indexOf('"');
  while (i >= 0) {
    STRING_TOKEN.lastIndex = i;
    if (!STRING_TOKEN.test(text)) break; // an unterminated string: the text was cut inside it
    const end = STRING_TOKEN.lastIndex;
    const token = text.slice(i, end);
    COLON.lastIndex = end;
    if (COLON.test(text)) {
      const valueStart = COLON.lastIndex;
      if (isField(decodeString(token))) {
        const valueEnd = skipValue(text, valueStart);
        if (valueEnd > valueStart) {
          out += text.slice(copied, valueStart) + REDACTED_JSON;
          copied = valueEnd;
        }
        i = text.indexOf('"', valueEnd);
        continue;
      }
    } else if (/^"\s*[{[]/.test(token)) {
      const inner = decodeString(token);
      const redacted = redactJsonText(inner, isField);
      if (redacted !== inner) {
        out += text.slice(copied, i) + asciiJsonString(redacted);
        copied = end;
      }
    }
    i = text.indexOf('"', end);
  }
  return copied === 0 ? text : out + text.slice(copied);
}

function scanLoose(text: string, isField: IsField): string {
  let out = '';
  let copied = 0;
  for (let i = text.indexOf('"'); i >= 0; i = text.indexOf('"', Math.max(i + 1, copied))) {
    KEY_TOKEN.lastIndex = i;
    const m = KEY_TOKEN.exec(text);
    if (!m || !isField(m[1])) continue;
    const valueStart = KEY_TOKEN.lastIndex;
    const valueEnd = skipValue(text, valueStart);
    if (valueEnd === valueStart || text.slice(valueStart, valueEnd) === REDACTED_JSON) continue;
    out += text.slice(copied, valueStart) + REDACTED_JSON;
    copied = valueEnd;
  }
  return copied === 0 ? text : out + text.slice(copied);
}

/** Where the JSON value starting at `start` ends; the end of the text when it was cut inside. */
function skipValue(text: string, start: number): number {
  const c = text[start];
  if (c === '"') return skipString(text, start);
  if (c === '{' || c === '[') {
    let depth = 0;
    for (let i = start; i < text.length; i++) {
      const d = text[i];
      if (d === '"') i = skipString(text, i) - 1;
      else if (d === '{' || d === '[') depth++;
      else if ((d === '}' || d === ']') && --depth === 0) return i + 1;
    }
    return text.length;
  }
  let i = start;
  while (i < text.length && !/[,}\]\s]/.test(text[i])) i++;
  return i;
}

function skipString(text: string, start: number): number {
  for (let i = start + 1; i < text.length; i++) {
    if (text[i] === '\\') i++;
    else if (text[i] === '"') return i + 1;
  }
  return text.length;
}

function decodeString(token: string): string {
  try {
    return JSON.parse(token) as string;
  } catch {
    return token.slice(1, -1);
  }
}

/** A JSON string literal in ASCII, so it survives a latin1 round trip as well as UTF-8. */
function asciiJsonString(s: string): string {
  return JSON.stringify(s).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/**
 * `a=1&password=x` → `a=1&password=[redacted]`. A PHP-style name such as `user[password]` counts by
 * its last bracketed part. Other parameters keep their exact bytes.
 */
function redactParams(query: string, isField: IsField): string {
  return query
    .split('&')
    .map((pair) => {
      const eq = pair.indexOf('=');
      const rawName = eq < 0 ? pair : pair.slice(0, eq);
      return isParamField(rawName, isField) && eq >= 0 ? `${rawName}=${REDACTED}` : pair;
    })
    .join('&');
}

function isParamField(rawName: string, isField: IsField): boolean {
  let name = rawName.replace(/\+/g, ' ');
  try {
    name = decodeURIComponent(name);
  } catch {
    // malformed percent-encoding: judge the name as written
  }
  const bracket = /\[([^[\]]*)\]$/.exec(name);
  return isField(name) || (bracket !== null && isField(bracket[1]));
}

/** `password=x` anywhere in free text (a body excerpt, a link in HTML). */
function redactLooseParams(text: string, isField: IsField): string {
  return text.replace(/(^|[?&;\s"'>])([^=&?;\s"'<>]+)=([^&;\s"'<>]*)/g, (all, before: string, name: string, value: string) =>
    value !== '' && value !== REDACTED && isParamField(name, isField) ? `${before}${name}=${REDACTED}` : all,
  );
}
