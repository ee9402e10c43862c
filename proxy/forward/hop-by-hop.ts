import type { IncomingHttpHeaders } from 'node:http';

/**
 * Hop-by-hop headers (RFC 9110 §7.6.1) describe one connection and must not be forwarded.
 * transfer-encoding stays: Node re-frames bodies itself, and removing it from a request
 * would leave a chunked GET/DELETE body without framing.
 */
const HOP_BY_HOP = ['keep-alive', 'proxy-connection', 'proxy-authenticate', 'te', 'trailer', 'upgrade'];

export function stripHopByHop(headers: IncomingHttpHeaders, keepUpgrade = false): void {
  const connection = headers.connection;
  if (connection) {
    for (const token of connection.split(',')) {
      const name = token.trim().toLowerCase();
      if (name && name !== 'close' && name !== 'keep-alive' && !(keepUpgrade && name === 'upgrade')) delete headers[name];
    }
    if (!keepUpgrade) delete headers.connection;
  }
  for (const name of HOP_BY_HOP) {
    if (headers[name] !== undefined && !(keepUpgrade && name === 'upgrade')) delete headers[name];
  }
}
