import { isUtf8 } from 'node:buffer';
import { isJsonMedia, looksLikeJson, parseMediaType } from '../comparison/body.ts';
import { parseConcretePath } from '../comparison/json-path.ts';
import type { CapturedResponse } from '../comparison/types.ts';
import type { StoredResponse } from './records.ts';

/**
 * Redaction of everything a parallel run or a recording stores, and of the URL the access log
 * writes: headers, bodies, URLs and the values quoted in differences. Secrets are replaced by
 * REDACTED before anything is written, so a comparison store, a recording file, a report or a log
 * line never holds a password. This is the one redaction module: the shadow runner, the recorder,
 * replay, extraction and the access log all call it.
 */

export const REDACTED = '[redacted]';

/** Redacted whatever the config says: credentials and sessions (see isSensitiveName for the rest). */
export const ALWAYS_REDACTED_HEADERS: readonly string[] = ['authorization', 'proxy-authorization', 'cookie', 'set-cookie'];

/**
 * Which names (JSON keys, form, query and multipart parameters, header names) hold a secret.
 * A name is lower-cased and cut into parts at anything not a letter or digit, and the parts into
 * words at camelCase humps (`newPassword`, `new_password`, `password[]`, `X-Auth-Token`,
 * `APIKey` → api key); a number is never the last word (`pass[0]`). It is a secret when:
 *
 * 1. a part contains a term no ordinary name contains: SECRET_SUBSTRINGS. A name that mentions
 *    a password is about the password (`password_hash`, `pwdConfirm`, `clientsecret`), in the
 *    languages legacy forms are often written in too (`Passwort`, `Kennwort`, `wachtwoord`,
 *    `mot_de_passe`, `contraseña`, `senha`); `secretary` is the one English word with such a
 *    term inside, and is let go;
 * 2. or one of its words is a session or auth word (ANYWHERE_WORDS): `x-session-id`,
 *    `session_key`, `authCode`. Whole words only: `author`, `authority`, `authenticated` are other words;
 * 3. or its last word, the head noun, names a credential (HEAD_WORDS, plural too): `id_token`,
 *    `x-amz-security-token`, `sort_key`, `user_pass`. The head decides because a `token_type`
 *    is a type and a `key_id` an id; and as a word, so `keyword`, `monkey`, `compass`, `spin`
 *    keep their values. Names written in one lower-case word (`accesstoken`, `sessiontoken`,
 *    `setcookie`) cannot be split, so a name ending in token or cookie counts too (no English
 *    word ends so); `key` is caught that way only after a credential word (`apikey`, SECRET_SUBSTRINGS),
 *    never `monkey`;
 * 4. or a word `card`, `cc` or `pin` is followed by number, no, cvv…, or credit / debit by card:
 *    `card_number`, `ccNum`, `pin_code`, `credit_card`. A bare `card` (a UI card, `card_type`)
 *    keeps its value: a card number inside it is still caught by its value (CARD_LIKE).
 *
 * Known over-reach, accepted because a stored value hidden in vain is better than a leaked one:
 * `sort_key`, `session_count`, `max_tokens`. Known misses: a name that says no listed word, such
 * as OAuth's `code`; add those with comparisons.redact.fields (exact names) or
 * comparisons.redact.patterns (substrings).
 */
const SECRET_SUBSTRINGS =
  /pass(?:word|wd|wort|phrase|code)|pwd|kennwort|wachtwoord|motdepasse|contrase(?:n|ñ)a|senha|secret(?!ar(?:y|ies))|credential|authorization|csrf|xsrf|sessid|sessionid|(?:api|access|private|signing|encryption|master|auth|client|session)key|cvv|cvc|creditcard|debitcard|cardnumber|ccnumber|ccnum|pincode/;
const ANYWHERE_WORDS: ReadonlySet<string> = new Set(['auth', 'session', 'sess', 'otp', 'jwt', 'bearer']);
const HEAD_WORDS: ReadonlySet<string> = new Set(['token', 'key', 'pass', 'passe', 'pw', 'pin', 'sid', 'cookie', 'signature', 'sig', 'secret']);
const CARD_WORDS: ReadonlySet<string> = new Set(['card', 'cc', 'pin']);
const CARD_DETAILS: ReadonlySet<string> = new Set(['number', 'num', 'no', 'nr', 'pan', 'cvv', 'cvc', 'pin', 'code', 'data']);
/** Not secrets though a rule above says so, and worth seeing when legacy and service differ. */
const NOT_SECRET: ReadonlySet<string> = new Set(['access-control-allow-credentials']);

/**
 * Every term of the rules above holds one of these; isSensitiveName answers no at once for a name
 * without any (most names), and so text without any holds no secret name: the quick check before
 * a query string is parsed.
 */
const NAME_TRIGGERS = /pass|pw|kennwort|wachtwoord|contrase|senha|secret|credential|auth|csrf|xsrf|sess|sid|key|token|cookie|cvv|cvc|card|cc|pin|sig|otp|jwt|bearer/i;

function isSensitiveName(name: string): boolean {
  if (!NAME_TRIGGERS.test(name)) return false;
  const lower = name.toLowerCase();
  if (NOT_SECRET.has(lower)) return false;
  const parts = lower.split(/[^\p{L}\p{N}]+/u).filter((p) => p !== '');
  if (parts.some((p) => SECRET_SUBSTRINGS.test(p))) return true;
  const words = nameWords(name);
  let last = words.length - 1;
  while (last >= 0 && /^\d+$/.test(words[last])) last--;
  if (last < 0) return false;
  const head = words[last];
  if (HEAD_WORDS.has(head) || (head.endsWith('s') && HEAD_WORDS.has(head.slice(0, -1))) || /(?:token|cookie)s?$/.test(parts[parts.length - 1])) return true;
  for (let i = 0; i < words.length; i++) {
    const word = words[i];
    const next = words[i + 1];
    if (ANYWHERE_WORDS.has(word)) return true;
    if (next !== undefined && ((CARD_WORDS.has(word) && CARD_DETAILS.has(next)) || ((word === 'credit' || word === 'debit') && next === 'card'))) return true;
  }
  return false;
}

/** `newPassword` → [new, password]; `X-API-Key` → [x, api, key]; `APIKey` → [api, key]; `pass[0]` → [pass, 0]. */
function nameWords(name: string): string[] {
  return name
    .replace(/([a-z\d])([A-Z])/g, '$1 $2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1 $2')
    .toLowerCase()
    .split(/[^\p{L}\p{N}]+/u)
    .filter((w) => w !== '');
}

/**
 * Card-number-like: 13 to 19 digits, optionally a space, dash or plus (or %20, %2D) between
 * any two, starting with a card network's first digit (2-6: Mastercard, Amex, Diners, JCB, Visa,
 * Discover, UnionPay, Maestro), not part of a longer number, a word, a decimal or a phone number
 * (+…), and Luhn-valid. The first digit rule keeps millisecond timestamps (17…) and most numeric
 * ids out; Luhn lets nine in ten other long numbers keep their digits.
 */
const CARD_LIKE = /(?<=^|[^\w.+%]|%20|%2[dD])[2-6](?:(?:[ +-]|%20|%2[dD])?\d){12,18}(?![\w]|\.\d)/g;

/** A number quoted in a difference: card-number-like by the same rules, digits only. */
function isCardNumber(value: number): boolean {
  const digits = String(value);
  return /^[2-6]\d{12,18}$/.test(digits) && isLuhnValid(digits);
}

function isLuhnValid(candidate: string): boolean {
  const digits = candidate.replace(/%2[0dD]|\D/g, '');
  if (digits.length < 13 || digits.length > 19) return false;
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = digits.charCodeAt(digits.length - 1 - i) - 48;
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 === 0;
}

/** Every card-number-like run in free text replaced by REDACTED. */
function redactCards(text: string): string {
  if (text.length < 13) return text;
  return text.replace(CARD_LIKE, (m) => (isLuhnValid(m) ? REDACTED : m));
}

/** As redactCards, in JSON text: a bare number becomes the string "[redacted]", so the text stays JSON. */
function redactCardsInJson(text: string): string {
  if (text.length < 13) return text;
  let inString = false;
  let scanned = 0;
  return text.replace(CARD_LIKE, (m, offset: number) => {
    for (let i = scanned; i < offset; i++) {
      const c = text[i];
      if (c === '\\' && inString) i++;
      else if (c === '"') inString = !inString;
    }
    scanned = offset;
    if (!isLuhnValid(m)) return m;
    return inString ? REDACTED : REDACTED_JSON;
  });
}

/**
 * A captured response as stored (comparisons, recordings, samples): headers and body redacted,
 * the body cut at cap. A body decoded from its Content-Encoding is stored decoded, saying so.
 */
export function storeResponse(response: CapturedResponse, redactor: Redactor, cap: number): StoredResponse {
  const ct = response.headers['content-type'];
  const body = redactor.body(response.body, Array.isArray(ct) ? ct[0] : ct, cap);
  const stored: StoredResponse = { status: response.status, headers: redactor.headers(response.headers), ...body, truncated: body.truncated || response.truncated === true };
  if (response.decodedFrom) stored.decodedFrom = response.decodedFrom;
  return stored;
}

export interface RedactorOptions {
  /** more body fields and query/form parameters to redact, exact names (ignoring case, "_" and "-") */
  fields?: readonly string[];
  /** more header names to redact (any casing) */
  headers?: readonly string[];
  /** more names to redact wherever they appear in a name (ignoring case, "_" and "-"): fields, parameters, headers */
  patterns?: readonly string[];
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
   * Redacts JSON, form and multipart bodies, then cuts at cap bytes (redacting first: a cut JSON
   * body could no longer be read). Bodies that are not UTF-8 come back as base64.
   */
  body(body: Buffer, contentType: string | undefined, cap: number): RedactedBody;
  /**
   * Query parameters redacted in readable form: `/login?password=[redacted]`. A URL without a
   * query, or whose query holds no secret name and no long number, comes back as it was after one
   * quick check (the access log calls this for every request).
   */
  url(url: string): string;
  /**
   * A value quoted in a comparison Difference at `path` (`$.user.password`, `headers.cookie`,
   * `body`): REDACTED when the path goes through a redacted field, else the value with any
   * secrets inside it redacted. Never changes its argument.
   */
  value(path: string, value: unknown): unknown;
}

/** Headers whose value is a URL: their query is redacted as a request's is. */
const URL_HEADERS: ReadonlySet<string> = new Set(['referer', 'location', 'content-location']);
/** isField answers are kept for this many names: bodies repeat the same keys over and over. */
const NAME_CACHE_SIZE = 2048;

export function createRedactor(options: RedactorOptions = {}): Redactor {
  const headerNames = new Set([...ALWAYS_REDACTED_HEADERS, ...(options.headers ?? [])].map((h) => h.toLowerCase()));
  const fieldNames = new Set((options.fields ?? []).map(normalizeField));
  const patterns = (options.patterns ?? []).map(normalizeField).filter((p) => p !== '');
  const decided = new Map<string, boolean>();
  /** by the rules or a configured pattern: body fields, parameters and headers alike */
  const isSecretName = (name: string): boolean => {
    let yes = decided.get(name);
    if (yes === undefined) {
      const normal = normalizeField(name);
      yes = patterns.some((p) => normal.includes(p)) || isSensitiveName(name);
      if (decided.size >= NAME_CACHE_SIZE) decided.clear();
      decided.set(name, yes);
    }
    return yes;
  };
  const isField = (name: string) => isSecretName(name) || fieldNames.has(normalizeField(name));
  const isHeader = (lower: string) => headerNames.has(lower) || isSecretName(lower);
  /** a header value that is not redacted whole: the query of a URL, card numbers anywhere */
  const headerValue = (lower: string, value: string) => redactCards(URL_HEADERS.has(lower) ? url(value) : value);
  // configured names are compared without "_" and "-", so the quick check lets those sit anywhere
  const extras = [...fieldNames, ...patterns].map((n) => [...n].map((c) => c.replace(/[.*+?^${}()|[\]\\]/, '\\$&')).join('[-_]*'));
  /**
   * The quick check, one pass over the query: no match, no secret name and no card number in
   * it. A match (a trigger, 13 digits at most 3 characters apart, or a percent-escape that could
   * spell a letter, digit, "-" or "_", which browsers never encode) sends the query to the parse.
   */
  const mayHoldSecret = new RegExp([NAME_TRIGGERS.source, ...extras, '(?:\\d\\D{0,3}){13}', '%(?:[3-7][0-9a-f]|2d)'].join('|'), NAME_TRIGGERS.flags);
  const url = (u: string): string => {
    const q = u.indexOf('?');
    if (q < 0) return u;
    const hash = u.indexOf('#', q);
    const query = hash < 0 ? u.slice(q + 1) : u.slice(q + 1, hash);
    if (!mayHoldSecret.test(query)) return u;
    return u.slice(0, q + 1) + redactParams(query, isField) + (hash < 0 ? '' : u.slice(hash));
  };

  return {
    headers(headers) {
      const out: Record<string, string> = {};
      for (const name in headers) {
        const value = headers[name];
        if (value === undefined) continue;
        const lower = name.toLowerCase();
        if (isHeader(lower)) {
          out[lower] = REDACTED;
          continue;
        }
        const joined = headerValue(lower, Array.isArray(value) ? value.join(', ') : value);
        out[lower] = out[lower] === undefined ? joined : `${out[lower]}, ${joined}`;
      }
      return out;
    },

    body(body, contentType, cap) {
      const utf8 = isUtf8(body);
      // latin1 maps bytes to characters one to one, so a body that is not UTF-8 survives the round trip
      const encoding = utf8 ? 'utf8' : 'latin1';
      const media = parseMediaType(contentType);
      let bytes = body;
      let redact: ((text: string) => string) | undefined;
      if (isJsonMedia(media) || looksLikeJson(body)) redact = (text) => redactCardsInJson(redactJsonText(text, isField));
      else if (media?.type === 'application/x-www-form-urlencoded') redact = (text) => redactParams(text, isField);
      // a multipart body sent without its content type still starts with its boundary line
      else if (media?.type.startsWith('multipart/') || (media === undefined && body[0] === 0x2d && body[1] === 0x2d)) {
        redact = (text) => redactMultipart(text, boundaryOf(contentType, text), isField);
      }
      if (redact) {
        const text = body.toString(encoding);
        const redacted = redact(text);
        if (redacted !== text) bytes = Buffer.from(redacted, encoding);
      }
      const truncated = bytes.length > cap;
      if (!utf8) return { body: (truncated ? bytes.subarray(0, cap) : bytes).toString('base64'), bodyEncoding: 'base64', truncated };
      let end = truncated ? cap : bytes.length;
      // never split a character: back off to the start of the one the cap falls in
      while (end > 0 && end < bytes.length && (bytes[end] & 0xc0) === 0x80) end--;
      return { body: bytes.subarray(0, end).toString('utf8'), bodyEncoding: 'utf8', truncated };
    },

    url,

    value(path, value) {
      if (value === undefined) return value;
      if (path.startsWith('headers.')) {
        const name = path.slice('headers.'.length).toLowerCase();
        return isHeader(name) ? REDACTED : typeof value === 'string' ? headerValue(name, value) : value;
      }
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
    // previews and excerpts are JSON or text cut anywhere: read them as broken JSON, params and multipart
    const json = redactCards(redactJsonText(value, isField));
    return isBodyText ? redactLooseMultipart(redactLooseParams(json, isField), isField) : json;
  }
  if (typeof value === 'number') return Number.isSafeInteger(value) && isCardNumber(value) ? REDACTED : value;
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
 * its last bracketed part. A card number in any other value is redacted where it stands. Other
 * parameters keep their exact bytes.
 */
function redactParams(query: string, isField: IsField): string {
  return query
    .split('&')
    .map((pair) => {
      const eq = pair.indexOf('=');
      if (eq < 0) return pair;
      const rawName = pair.slice(0, eq);
      return isParamField(rawName, isField) ? `${rawName}=${REDACTED}` : `${rawName}=${redactCards(pair.slice(eq + 1))}`;
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

/**
 * The boundary parameter of a multipart content type, when the body uses it; else the body's
 * first line, `--boundary`: a body whose parts are not found would be stored as it came.
 */
function boundaryOf(contentType: string | undefined, text: string): string | undefined {
  const param = contentType === undefined ? null : /;\s*boundary\s*=\s*(?:"([^"]+)"|([^;\s]+))/i.exec(contentType);
  const declared = param?.[1] ?? param?.[2];
  if (declared !== undefined && text.includes(`--${declared}`)) return declared;
  return /^--([^\r\n]{1,70}?)[ \t]*\r?\n/.exec(text)?.[1];
}

const PART_NAME = /^content-disposition:[^\r\n]*?;\s*name\s*=\s*(?:"((?:[^"\\\r\n]|\\.)*)"|([^;\s]+))/im;
const PART_HEAD_END = /\r?\n\r?\n/g;

/**
 * multipart/form-data: the value of a part whose name is a secret becomes REDACTED, its headers
 * stay; a card number in a text part is redacted where it stands, and a JSON part is redacted as
 * a JSON body. Files (a part with a filename) that are not text are left as they are. A body cut
 * inside its last part is redacted up to the cut.
 */
function redactMultipart(text: string, boundary: string | undefined, isField: IsField): string {
  if (!boundary) return text;
  const delimiter = `--${boundary}`;
  let out = '';
  let copied = 0;
  let at = text.indexOf(delimiter);
  while (at >= 0) {
    const headStart = at + delimiter.length;
    if (text.startsWith('--', headStart)) break; // the closing delimiter
    PART_HEAD_END.lastIndex = headStart;
    const headEnd = PART_HEAD_END.exec(text);
    if (!headEnd) break; // cut inside the part's headers: no value follows
    const head = text.slice(headStart, headEnd.index);
    const valueStart = PART_HEAD_END.lastIndex;
    const next = text.indexOf(`\n${delimiter}`, valueStart);
    const valueEnd = next < 0 ? text.length : text[next - 1] === '\r' ? next - 1 : next;
    const value = text.slice(valueStart, valueEnd);
    const redacted = redactPart(head, value, isField);
    if (redacted !== value) {
      out += text.slice(copied, valueStart) + redacted;
      copied = valueEnd;
    }
    at = next < 0 ? -1 : next + 1;
  }
  return copied === 0 ? text : out + text.slice(copied);
}

function redactPart(head: string, value: string, isField: IsField): string {
  const name = PART_NAME.exec(head);
  if (name && isField(name[1] ?? name[2])) return REDACTED;
  const media = parseMediaType(/^content-type:\s*([^\r\n]*)/im.exec(head)?.[1]);
  if (isJsonMedia(media)) return redactCardsInJson(redactJsonText(value, isField));
  if (media?.type === 'application/x-www-form-urlencoded') return redactParams(value, isField);
  const isFile = /;\s*filename\*?\s*=/i.test(head);
  return !isFile || media === undefined || media.type.startsWith('text/') ? redactCards(value) : value;
}

/** A multipart part whose name is a secret, in free text (a body excerpt): its value up to the next line. */
function redactLooseMultipart(text: string, isField: IsField): string {
  if (!text.includes('name=')) return text;
  return text.replace(
    /(content-disposition:[^\r\n]*?;\s*name\s*=\s*"((?:[^"\\\r\n]|\\.)*)"[^\r\n]*(?:\r?\n[^\r\n]+)*\r?\n\r?\n)([^\r\n]*)/gi,
    (all, head: string, name: string, value: string) => (value !== '' && value !== REDACTED && isField(name) ? head + REDACTED : all),
  );
}
