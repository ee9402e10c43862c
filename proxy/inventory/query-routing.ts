import { collapsePath, isIdSegment } from './collapse-path.ts';

/**
 * Query-routed pages: PHP apps often route by a query parameter on one front-controller path
 * (WordPress /?rest_route=/wp/v2/categories, index.php?page=settings, admin-ajax.php?action=…).
 * Counted by path alone they are one row hiding the whole app; the inventory lists them by
 * their routing parameter instead. A parameter routes an endpoint when
 *  - its values are paths (start with /), collapsed like request paths
 *    (/?rest_route=/wp/v2/posts/:id); or
 *  - its values are words (no digits-only ids, no spaces) from a small set that repeats: 2 to
 *    MAX_WORD_VALUES values over at least MIN_WORD_REQUESTS requests, each value seen WORD_REPEAT
 *    times on average (?page=2 is pagination, an id, and never routes; a value that never
 *    changes splits nothing).
 * One parameter per endpoint: a path-valued one first, then the one most requests carry.
 * Passed over whatever their values: parameters that say where to go next (redirect_to, return,
 * next, url, ref, callback), tracking (utm_*, fbclid, gclid), sorting (sort, order, orderby),
 * language (lang, _locale), nonces and cache busters (ver, _).
 */

/** parameters of one endpoint counted per value at once; one that cannot route frees its place */
export const MAX_PARAMS_TRACKED = 8;
/** parameter names remembered per endpoint, counted or not */
export const MAX_PARAM_NAMES = 64;
export const MAX_PATH_VALUES = 200;
export const MAX_WORD_VALUES = 12;
export const MIN_WORD_REQUESTS = 10;
export const WORD_REPEAT = 3;

/** where to go next, tracking, sorting, language and cache busters: they vary, and route nothing */
const NOT_ROUTING = /redirect|return|referr?er|callback|destination|nonce|^(utm_|mc_)|^(next|url|uri|ref|back|continue|goto|from|to|fbclid|gclid|msclkid|_ga|sort|order|orderby|dir|lang|locale|_locale|context|format|preview|submit|ver|v|_)$/i;
const WORD = /^[A-Za-z][A-Za-z0-9_.:-]{0,39}$/;

export type ValueKind = 'path' | 'word';

/** How a parameter's value could route, and the key its requests are counted under; undefined: it cannot. */
export function classifyValue(name: string, value: string): { kind: ValueKind; key: string } | undefined {
  if (NOT_ROUTING.test(name)) return undefined;
  if (value.startsWith('/')) return { kind: 'path', key: collapsePath(value) };
  if (WORD.test(value) && !isIdSegment(value)) return { kind: 'word', key: value };
  return undefined;
}

export interface ParamSummary {
  name: string;
  kind: ValueKind;
  /** requests that carried the parameter */
  carried: number;
  values: number;
}

/** The routing parameter among an endpoint's candidates, or undefined when none routes. */
export function pickRoutingParam(candidates: readonly ParamSummary[]): ParamSummary | undefined {
  const routing = candidates.filter(
    (p) => p.values > 0 && (p.kind === 'path' || (p.values >= 2 && p.values <= MAX_WORD_VALUES && p.carried >= MIN_WORD_REQUESTS && p.values * WORD_REPEAT <= p.carried)),
  );
  routing.sort((a, b) => (a.kind === b.kind ? 0 : a.kind === 'path' ? -1 : 1) || b.carried - a.carried || a.name.localeCompare(b.name));
  return routing[0];
}

/** The first value of each parameter in a query, decoded (%2F and + too). */
export function queryParams(query: string): Map<string, string> {
  const params = new Map<string, string>();
  for (const [name, value] of new URLSearchParams(query)) if (name !== '' && !params.has(name)) params.set(name, value);
  return params;
}
