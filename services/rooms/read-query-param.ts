/**
 * One query parameter read the way PHP fills $_GET, so the service answers odd query strings
 * as legacy does: the last occurrence wins, `name[]=…`/`name[k]=…` make an array (which
 * legacy rejects as a page number and ignores as a topic), spaces and dots in a name become
 * underscores (`per.page` is `per_page`), leading spaces are dropped.
 */
export type QueryParam = { kind: 'absent' } | { kind: 'string'; value: string } | { kind: 'array' };

function phpBaseName(key: string): { base: string; isArray: boolean } {
  const name = key.replace(/^ +/, '');
  const open = name.indexOf('[');
  const isArray = open > 0 && name.indexOf(']', open) > open;
  const base = isArray ? name.slice(0, open) : open >= 0 ? `${name.slice(0, open)}_${name.slice(open + 1)}` : name;
  return { base: base.replace(/[ .]/g, '_'), isArray };
}

export function readQueryParam(requestUrl: string, name: string): QueryParam {
  const queryStart = requestUrl.indexOf('?');
  if (queryStart < 0) return { kind: 'absent' };
  let found: QueryParam = { kind: 'absent' };
  for (const [key, value] of new URLSearchParams(requestUrl.slice(queryStart + 1))) {
    const { base, isArray } = phpBaseName(key);
    if (base !== name) continue;
    found = isArray ? { kind: 'array' } : { kind: 'string', value };
  }
  return found;
}
