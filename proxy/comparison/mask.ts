/**
 * Masks: the narrowest rule that explains two legacy answers differing inside one string.
 * WordPress's oEmbed `html` holds a random secret; ignoring `$.html` whole would hide every
 * real difference in the rest of it. A mask is a regular expression for the varying token only,
 * anchored on the text just before it: `(?<=data-secret=")[A-Za-z0-9]{10}`. Both values have
 * every match replaced by one marker before they are compared.
 */

/** What a masked token becomes on both sides. */
export const MASKED = '\u0000masked';

/** Shorter strings vary as a whole (clocks, ids, tokens): they are value noise, not masked. */
const MIN_TEXT_LENGTH = 32;
/** More varying tokens than this in one string: it varies as a whole. */
const MAX_TOKENS = 8;
/** Token characters: words, and the base64 / base64url alphabet. */
const TOKEN_CHAR = /[A-Za-z0-9_+/=-]/;
const WORD_CHAR = /[A-Za-z0-9_-]/;

const compiled = new Map<string, RegExp>();

/** The mask as a global RegExp, compiled once per source; throws SyntaxError when it is not one. */
export function compileMask(source: string): RegExp {
  let re = compiled.get(source);
  if (!re) {
    re = new RegExp(source, 'g');
    if (compiled.size > 1000) compiled.clear();
    compiled.set(source, re);
  }
  return re;
}

export function applyMask(value: string, source: string): string {
  return value.replace(compileMask(source), MASKED);
}

/**
 * The masks that make a and b equal, narrowest first found; undefined when no mask explains
 * the difference (short values, or text that differs in more than a few tokens): the caller
 * then treats the whole value as noise.
 */
export function deriveMasks(a: string, b: string): string[] | undefined {
  if (a === b || Math.min(a.length, b.length) < MIN_TEXT_LENGTH) return undefined;
  const ta = tokenize(a);
  const tb = tokenize(b);
  // the same shape with some tokens changed: one mask per run of changed tokens
  if (ta.length === tb.length) {
    const masks = masksOfAligned(ta, tb);
    if (masks) return check(a, b, masks);
  }
  // otherwise one varying region between the common prefix and suffix, widened to whole tokens
  let start = 0;
  while (start < a.length && start < b.length && a[start] === b[start]) start++;
  let end = 0;
  while (end < a.length - start && end < b.length - start && a[a.length - 1 - end] === b[b.length - 1 - end]) end++;
  while (start > 0 && TOKEN_CHAR.test(a[start - 1])) start--;
  while (end > 0 && TOKEN_CHAR.test(a[a.length - end])) end--;
  const x = a.slice(start, a.length - end);
  const y = b.slice(start, b.length - end);
  if (!isToken(x) || !isToken(y)) return undefined;
  return check(a, b, [maskFor(a.slice(0, start), x, y)]);
}

function masksOfAligned(ta: string[], tb: string[]): string[] | undefined {
  const masks: string[] = [];
  let before = '';
  let i = 0;
  while (i < ta.length) {
    if (ta[i] === tb[i]) {
      before += ta[i++];
      continue;
    }
    // a run of changed tokens, with single separators (base64's + / =) between them
    let j = i + 1;
    while (j < ta.length && (ta[j] !== tb[j] || (j + 1 < ta.length && ta[j + 1] !== tb[j + 1] && ta[j].length === 1 && TOKEN_CHAR.test(ta[j])))) j++;
    const x = ta.slice(i, j).join('');
    const y = tb.slice(i, j).join('');
    if (!isToken(x) || !isToken(y)) return undefined;
    const mask = maskFor(before, x, y);
    if (!masks.includes(mask)) masks.push(mask);
    if (masks.length > MAX_TOKENS) return undefined;
    before += x;
    i = j;
  }
  return masks;
}

/**
 * The masks explain the difference only if the masked values are equal; and they are narrow
 * only if they leave most of the value compared (else the value varies as a whole).
 */
function check(a: string, b: string, masks: string[]): string[] | undefined {
  let ma = a;
  let mb = b;
  for (const m of masks) {
    ma = applyMask(ma, m);
    mb = applyMask(mb, m);
  }
  if (ma !== mb) return undefined;
  const kept = ma.split(MASKED).join('').length;
  return kept * 2 > a.length ? masks : undefined;
}

/** A regular expression for x and y, anchored on the word (and a little punctuation) before them. */
function maskFor(before: string, x: string, y: string): string {
  const context = /[A-Za-z0-9_-]+[^A-Za-z0-9_-]{0,3}$/.exec(before)?.[0] ?? before.slice(-8);
  const anchor = context === '' ? '^' : `(?<=${escapeRegExp(context)})`;
  const both = x + y;
  const cls = /^\d+$/.test(both) ? '\\d' : /^[0-9a-f]+$/.test(both) ? '[0-9a-f]' : /^[0-9A-F]+$/.test(both) ? '[0-9A-F]' : /^[A-Za-z0-9]+$/.test(both) ? '[A-Za-z0-9]' : /^[A-Za-z0-9_-]+$/.test(both) ? '[A-Za-z0-9_-]' : '[A-Za-z0-9_+/=-]';
  const quantifier = x.length === y.length ? `{${x.length}}` : '+';
  return `${anchor}${cls}${quantifier}`;
}

function isToken(s: string): boolean {
  if (s === '') return false;
  for (const c of s) if (!TOKEN_CHAR.test(c)) return false;
  return true;
}

/** Runs of word characters, and every other character alone. */
function tokenize(s: string): string[] {
  const tokens: string[] = [];
  let word = '';
  for (const c of s) {
    if (WORD_CHAR.test(c)) {
      word += c;
      continue;
    }
    if (word) tokens.push(word), (word = '');
    tokens.push(c);
  }
  if (word) tokens.push(word);
  return tokens;
}

function escapeRegExp(s: string): string {
  return s.replace(/[\\^$.*+?()[\]{}|]/g, '\\$&');
}
