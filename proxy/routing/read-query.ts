/**
 * The query parameters a query-routed path is decided on, read as PHP fills $_GET (main/
 * php_variables.c, php_default_treat_data and php_register_variable_ex), so that no spelling of
 * a parameter reaches legacy's handler past a route that names it: pairs split on & only (not
 * ;), + and %XX decoded in names and values (a bad %XX stays as written), leading spaces of a
 * name dropped, a name cut at an encoded NUL, spaces and dots in it read as _, `name[…]` an
 * array (never equal to a value), `name[` without `]` read as name_, and the last assignment
 * wins. `rest.route=x`, `rest+route=x`, `%20rest%5Froute=x` and `rest[route=x` all set
 * $_GET['rest_route']; `?rest_route=a&rest_route=b` is b.
 *
 * What PHP would read otherwise, or an application would read as the same value (PCRE's $
 * matches before a final newline), is refused instead of guessed: a # (web servers disagree on
 * whether it ends the query), an encoded control character in a value read here, and more than
 * max_input_vars (1000, PHP's default) parameters, past which PHP ignores the rest.
 */

/** $_GET[name] is an array: `name[]=…` or `name[key]=…` was its last assignment. */
export const QUERY_ARRAY = Symbol('query array');
export type QueryValue = string | typeof QUERY_ARRAY;

/** Why a query cannot be read as PHP reads it. */
export type QueryRejection = 'fragment' | 'control-character' | 'too-many-parameters';

/** PHP's default max_input_vars: parameters past it never reach $_GET. */
export const MAX_INPUT_VARS = 1000;

const AMPERSAND = 0x26;
const EQUALS = 0x3d;
const PERCENT = 0x25;
const PLUS = 0x2b;

/** The values of `names` in the query (the target's part after ?), or why it is refused. */
export function readQuery(query: string, names: ReadonlySet<string>): Map<string, QueryValue> | QueryRejection {
  if (query.includes('#')) return 'fragment';
  const values = new Map<string, QueryValue>();
  let count = 0;
  let from = 0;
  while (from <= query.length) {
    let end = query.indexOf('&', from);
    if (end === -1) end = query.length;
    // PHP's strtok skips empty pairs, and a pair whose name is empty ("=x") is not counted
    if (end > from && query.charCodeAt(from) !== EQUALS) {
      if (++count > MAX_INPUT_VARS) return 'too-many-parameters';
      let eq = query.indexOf('=', from);
      if (eq > end || eq === -1) eq = end;
      const name = registeredName(decode(query.slice(from, eq)));
      if (name !== undefined && names.has(name.name)) {
        if (name.isArray) values.set(name.name, QUERY_ARRAY);
        else {
          const value = eq < end ? decode(query.slice(eq + 1, end)) : '';
          if (hasControlCharacter(value)) return 'control-character';
          values.set(name.name, value);
        }
      }
    }
    from = end + 1;
  }
  return values;
}

/** php_url_decode: + is a space, %XX a byte (either case), anything else as sent; bytes read as UTF-8. */
export function decode(s: string): string {
  let i = 0;
  for (; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === PERCENT || c === PLUS || c >= 0x80) break;
  }
  if (i === s.length) return s;
  const bytes = Buffer.allocUnsafe(s.length * 3);
  let n = 0;
  for (i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === PLUS) bytes[n++] = 0x20;
    else if (c === PERCENT && isHex(s.charCodeAt(i + 1)) && isHex(s.charCodeAt(i + 2))) {
      bytes[n++] = parseInt(s.slice(i + 1, i + 3), 16);
      i += 2;
    } else if (c < 0x100) bytes[n++] = c; // Node reads the request line as latin1: one char, one byte
    else n += bytes.write(s[i], n, 'utf8');
  }
  return bytes.toString('utf8', 0, n);
}

/** php_register_variable_ex's reading of a decoded name: the $_GET key it sets, or none. */
function registeredName(raw: string): { name: string; isArray: boolean } | undefined {
  let start = 0;
  while (raw.charCodeAt(start) === 0x20) start++;
  let end = raw.indexOf('\0', start);
  if (end === -1) end = raw.length;
  let name = '';
  let from = start;
  for (let i = start; i < end; i++) {
    const c = raw[i];
    if (c === ' ' || c === '.') {
      name += `${raw.slice(from, i)}_`;
      from = i + 1;
    } else if (c === '[') {
      name += raw.slice(from, i);
      if (name === '') return undefined;
      const close = raw.indexOf(']', i + 1);
      if (close !== -1 && close < end) return { name, isArray: true };
      // no closing bracket: not an index; "[" and every later space, dot and "[" read as _
      return { name: `${name}_${raw.slice(i + 1, end).replace(/[ .[]/g, '_')}`, isArray: false };
    }
  }
  name += raw.slice(from, end);
  return name === '' ? undefined : { name, isArray: false };
}

function hasControlCharacter(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return true;
  }
  return false;
}

function isHex(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);
}
