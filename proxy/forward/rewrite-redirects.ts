import type { IncomingMessage } from 'node:http';
import type { Config } from '../config/schema.ts';

/**
 * An upstream's Location, Content-Location and Refresh that name its own origin are given the
 * origin the client used, so a redirect never sends a browser past the proxy (and every flag) to
 * the monolith's own address: nginx's `proxy_redirect default`. Relative references and other
 * origins are sent as written; so is a scheme change (an app sending http to https means it).
 *
 * "Its own origin" is the scheme and authority the proxy reaches it at (legacy: http://127.0.0.1:28000),
 * and the Host it was sent (the client's) with that scheme: an app behind a TLS-terminating
 * balancer that builds http://shop.example/… from its Host is sent back as https://shop.example/….
 */

/** How an upstream whose redirects are rewritten spells its own origin; built once per config. */
export interface UpstreamSelf {
  /** 'http:' or 'https:', as the proxy reaches it */
  readonly scheme: string;
  /** its host and port as a Location would spell them: lower case, without the scheme's default port */
  readonly authority: string;
}

/** By upstream name (legacy, or a service): its own origin, or null when its redirects are kept as sent. */
export type RedirectRewrites = ReadonlyMap<string, UpstreamSelf | null>;

export function buildRedirectRewrites(config: Pick<Config, 'legacy' | 'services' | 'redirects'>): RedirectRewrites {
  const out = new Map<string, UpstreamSelf | null>();
  const add = (name: string, url: URL) => out.set(name, config.redirects[name] === 'keep' ? null : { scheme: url.protocol, authority: url.host.toLowerCase() });
  add('legacy', config.legacy);
  for (const [name, url] of Object.entries(config.services)) add(name, url);
  return out;
}

/** The client side of a request as a rewrite reads it: its Host, X-Forwarded-Proto and whether its connection was TLS. */
export type ClientSide = Pick<IncomingMessage, 'headers'> & { readonly socket?: object | null };

/**
 * Every redirect header of a captured answer (lower-case names), rewritten in place from its
 * upstream's own origin to the client's: how a comparison sees what the client would have got,
 * whichever upstream answered (the shadow copy, replay).
 */
export function rewriteRedirectHeaders(headers: Record<string, string | string[] | undefined>, self: UpstreamSelf | null | undefined, client: ClientSide): void {
  if (!self) return;
  for (const name of Object.keys(headers)) {
    const value = headers[name];
    if (value === undefined || !isRedirectHeader(name)) continue;
    headers[name] = Array.isArray(value) ? value.map((v) => rewriteRedirectHeader(name, v, self, client)) : rewriteRedirectHeader(name, value, self, client);
  }
}

/** Headers whose value may be rewritten; `lower` is a lower-case header name. */
export function isRedirectHeader(lower: string): boolean {
  return lower === 'location' || lower === 'content-location' || lower === 'refresh';
}

/** The header's value as the client gets it: the upstream's own origin replaced by the client's. */
export function rewriteRedirectHeader(lower: string, value: string, self: UpstreamSelf, req: ClientSide): string {
  if (lower !== 'refresh') return rewriteUrl(value, self, req);
  // Refresh: 5; url=http://…  (also "5, URL='…'"; the HTML spec's shared-declarative-refresh steps)
  const m = REFRESH.exec(value);
  if (!m) return value;
  const [, prefix, quote, url, rest] = m;
  const rewritten = rewriteUrl(url, self, req);
  return rewritten === url ? value : prefix + quote + rewritten + rest;
}

const REFRESH = /^(\s*[\d.]*\s*[;,]\s*(?:url\s*=\s*)?)(['"]?)([^'"\s]*)(.*)$/is;

/** A Host a client may be sent back to: a name, IPv4 or [IPv6], and an optional port; nothing that could end the authority. */
const PLAIN_HOST = /^(?:[a-z0-9._~-]+|\[[0-9a-f:.]+\])(?::\d{0,5})?$/i;

function rewriteUrl(url: string, self: UpstreamSelf, req: ClientSide): string {
  let start: number;
  if (url.charCodeAt(0) === 47 /* / */ && url.charCodeAt(1) === 47) start = 2; // //host/path: the page's scheme
  else {
    const colon = url.indexOf('://');
    if (colon < 4 || colon > 5 || url.slice(0, colon + 1).toLowerCase() !== self.scheme) return url;
    start = colon + 3;
  }
  let end = start;
  while (end < url.length) {
    const c = url.charCodeAt(end);
    if (c === 47 /* / */ || c === 63 /* ? */ || c === 35 /* # */) break;
    end++;
  }
  const authority = normalAuthority(url.slice(start, end), self.scheme);
  const host = req.headers.host;
  if (authority !== self.authority && (host === undefined || authority !== normalAuthority(host, self.scheme))) return url;
  const rest = url.slice(end);
  // a Host that is missing or could not be an authority: the client stays on the proxy with a path of its own origin
  if (host === undefined || !PLAIN_HOST.test(host)) return rest.charCodeAt(0) === 47 ? rest : `/${rest}`;
  return start === 2 ? `//${host}${rest}` : `${clientScheme(req)}://${host}${rest}`;
}

/** lower case, without the scheme's default port (URL.host's spelling) */
function normalAuthority(authority: string, scheme: string): string {
  const lower = authority.toLowerCase();
  const port = scheme === 'https:' ? ':443' : ':80';
  return lower.endsWith(port) ? lower.slice(0, -port.length) : lower;
}

/**
 * The scheme the client used: X-Forwarded-Proto as the forwarder set it (a trusted peer's own,
 * else the connection's; forwarded-headers.ts).
 */
function clientScheme(req: ClientSide): string {
  const proto = req.headers['x-forwarded-proto'];
  const first = typeof proto === 'string' ? proto.split(',')[0].trim().toLowerCase() : '';
  if (first === 'https' || first === 'http') return first;
  return (req.socket as { encrypted?: boolean } | null | undefined)?.encrypted ? 'https' : 'http';
}
