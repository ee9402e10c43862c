import type { IncomingHttpHeaders } from 'node:http';

/**
 * Hop-by-hop headers (RFC 9110 §7.6.1) describe one connection and are never forwarded.
 * transfer-encoding goes too: the upstream client and Node's server each frame bodies
 * themselves. expect is answered by Node's server (100-continue) and must not be repeated.
 */
const HOP_BY_HOP = ['connection', 'keep-alive', 'proxy-connection', 'proxy-authenticate', 'proxy-authorization', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'expect'];
const HOP_BY_HOP_NAMES = new Set(HOP_BY_HOP);

/** The request announces a body (its framing headers, read before stripHopByHop removes transfer-encoding). */
export function hasRequestBody(headers: IncomingHttpHeaders): boolean {
  const length = headers['content-length'];
  return headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

/** The proxy's own headers (x-strangler-*) are the proxy's to send: removed from what an upstream answered. */
export function dropProxyHeaders(headers: Record<string, unknown>): void {
  for (const name of Object.keys(headers)) if (name.startsWith('x-strangler-')) delete headers[name];
}

/** name: lower case */
export function isHopByHop(name: string): boolean {
  return HOP_BY_HOP_NAMES.has(name);
}

/** The header names a Connection header marks as this hop's own (lower case); none for plain keep-alive or close. */
export function namedByConnection(connection: string | string[] | undefined): string[] {
  if (typeof connection !== 'string' || connection === 'keep-alive' || connection === 'close') return [];
  return connection
    .split(',')
    .map((token) => token.trim().toLowerCase())
    .filter((name) => name !== '');
}

/** Removes them from headers by name, with those the Connection header names; returns the same object. */
export function stripHopByHop<T extends IncomingHttpHeaders | Record<string, string | string[] | undefined>>(headers: T): T {
  for (const name of namedByConnection(headers.connection)) delete headers[name];
  for (let i = 0; i < HOP_BY_HOP.length; i++) {
    if (headers[HOP_BY_HOP[i]] !== undefined) delete headers[HOP_BY_HOP[i]];
  }
  return headers;
}
