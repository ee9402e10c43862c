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
  if ('cookie' in source) return readCookie(req.headers.cookie, source.cookie);
  return readCookie(req.headers.cookie, source.cookiePrefix, true);
}

/**
 * One cookie's value, without parsing the whole header into an object: the first cookie named
 * `name`, or with `byPrefix` the first whose name starts with it (and is longer). An empty value
 * is no value.
 */
export function readCookie(header: string | undefined, name: string, byPrefix = false): string | undefined {
  if (!header) return undefined;
  let from = 0;
  while (from < header.length) {
    const at = header.indexOf(name, from);
    if (at === -1) return undefined;
    from = at + name.length;
    if (at !== 0 && header[at - 1] !== ' ' && header[at - 1] !== ';') continue;
    let eq = at + name.length;
    if (byPrefix) {
      eq = header.indexOf('=', eq);
      const semicolon = header.indexOf(';', at);
      // the rest of the name must be a name: no "=" before the next cookie, and at least one character
      if (eq === -1 || (semicolon !== -1 && semicolon < eq) || eq === at + name.length) continue;
    } else if (header[eq] !== '=') continue;
    const end = header.indexOf(';', eq);
    const value = header.slice(eq + 1, end === -1 ? undefined : end).trim();
    if (value !== '') return value;
    if (!byPrefix) return undefined;
  }
  return undefined;
}
