import type { IncomingMessage } from 'node:http';
import type { Context } from 'unleash-client';
import type { ContextConfig, RequestSource } from '../config/schema.ts';

/**
 * Turns a request into the Unleash context its route's flag is evaluated with: userId and
 * sessionId (what flexibleRollout's default stickiness hashes), the client address, and the
 * configured properties.
 */
export function buildContext(req: IncomingMessage, config: ContextConfig): Context {
  const context: Context = {
    userId: readSource(req, config.userId),
    sessionId: readSource(req, config.sessionId),
    remoteAddress: req.socket.remoteAddress,
  };
  let properties: Record<string, string> | undefined;
  for (const name in config.properties) {
    const value = readSource(req, config.properties[name]);
    if (value !== undefined) (properties ??= {})[name] = value;
  }
  if (properties) context.properties = properties;
  return context;
}

function readSource(req: IncomingMessage, source: RequestSource): string | undefined {
  if ('header' in source) {
    const v = req.headers[source.header];
    return (Array.isArray(v) ? v[0] : v) || undefined;
  }
  return readCookie(req.headers.cookie, source.cookie);
}

/** One cookie's value, without parsing the whole header into an object. */
export function readCookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  let from = 0;
  while (from < header.length) {
    const at = header.indexOf(name, from);
    if (at === -1) return undefined;
    const boundary = at === 0 || header[at - 1] === ' ' || header[at - 1] === ';';
    const eq = at + name.length;
    if (boundary && header[eq] === '=') {
      const end = header.indexOf(';', eq);
      const value = header.slice(eq + 1, end === -1 ? undefined : end).trim();
      return value === '' ? undefined : value;
    }
    from = at + name.length;
  }
  return undefined;
}
