import type { CapturedResponse } from './types.ts';

/** Reading captured responses: headers, media types, JSON bodies, HTML whitespace. */

/** A header's value whatever the casing of its name; repeated headers joined with ", ". */
export function headerValue(headers: CapturedResponse['headers'], name: string): string | undefined {
  let value = headers[name];
  if (value === undefined) {
    for (const key in headers) {
      if (key.toLowerCase() === name) {
        value = headers[key];
        break;
      }
    }
  }
  if (value === undefined) return undefined;
  return (Array.isArray(value) ? value.join(', ') : value).trim();
}

export interface MediaType {
  /** type/subtype, lower case */
  type: string;
  /** lower case, unquoted */
  charset?: string;
}

export function parseMediaType(value: string | undefined): MediaType | undefined {
  if (!value) return undefined;
  const parts = value.split(';');
  const media: MediaType = { type: parts[0].trim().toLowerCase() };
  for (let i = 1; i < parts.length; i++) {
    const eq = parts[i].indexOf('=');
    if (eq < 0 || parts[i].slice(0, eq).trim().toLowerCase() !== 'charset') continue;
    media.charset = parts[i].slice(eq + 1).trim().replace(/^"(.*)"$/, '$1').toLowerCase();
  }
  return media;
}

/** Same media type and charset, case-insensitive; other parameters (boundary …) do not count. */
export function isSameMediaType(a: string | undefined, b: string | undefined): boolean {
  if (a === b) return true;
  const ma = parseMediaType(a);
  const mb = parseMediaType(b);
  return ma?.type === mb?.type && ma?.charset === mb?.charset;
}

export function isJsonMedia(media: MediaType | undefined): boolean {
  return media !== undefined && (media.type === 'application/json' || media.type.endsWith('+json'));
}

export function isHtmlMedia(media: MediaType | undefined): boolean {
  return media !== undefined && (media.type === 'text/html' || media.type === 'application/xhtml+xml');
}

/** The first byte that is not whitespace opens an object or an array. */
export function looksLikeJson(body: Buffer): boolean {
  for (let i = 0; i < body.length; i++) {
    const c = body[i];
    if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) continue;
    if (c === 0xef && body[i + 1] === 0xbb && body[i + 2] === 0xbf) {
      i += 2;
      continue;
    }
    return c === 0x7b || c === 0x5b;
  }
  return false;
}

export const NOT_JSON: unique symbol = Symbol('not JSON');

export function decodeJson(body: Buffer): unknown {
  if (body.length === 0) return NOT_JSON;
  try {
    return JSON.parse(body.toString('utf8').replace(/^\uFEFF/, ''));
  } catch {
    return NOT_JSON;
  }
}

/**
 * Whitespace runs become one space, whitespace between two tags goes, ends are trimmed.
 * Changes the meaning of <pre> blocks: an option per route, not a default.
 */
export function collapseHtmlWhitespace(html: string): string {
  return html.replace(/\s+/g, ' ').replace(/> </g, '><').trim();
}
