/**
 * The request target's form (RFC 9112 §3.2). Only origin-form (`/path?query`) is routed and
 * forwarded. Absolute-form (`http://host/path`) is turned into origin-form with its authority as
 * the Host, as the RFC asks of a server; `OPTIONS *` is answered by the proxy itself; anything
 * else (`ftp://x/`, authority-form, a bare word) is refused. undici refuses such paths too, and
 * before this check one refused request left its pooled connection waiting for a drain that
 * never came (256 of them wedged the legacy pool).
 */
export type TargetForm =
  | { kind: 'origin' }
  | { kind: 'absolute'; url: string; host: string }
  | { kind: 'asterisk' }
  | { kind: 'invalid' };

const ORIGIN: TargetForm = { kind: 'origin' };
const ASTERISK: TargetForm = { kind: 'asterisk' };
const INVALID: TargetForm = { kind: 'invalid' };
const ABSOLUTE = /^https?:\/\/([^/?#@\s]+)([/?][^#]*)?$/i;

export function readTargetForm(method: string, url: string): TargetForm {
  if (url.charCodeAt(0) === 47 /* / */) return ORIGIN;
  if (url === '*') return method === 'OPTIONS' ? ASTERISK : INVALID;
  const m = ABSOLUTE.exec(url);
  if (m === null) return INVALID;
  const rest = m[2] ?? '/';
  return { kind: 'absolute', host: m[1], url: rest.charCodeAt(0) === 63 /* ? */ ? `/${rest}` : rest };
}
