import FindMyWay from 'find-my-way';
import type { RouteConfig } from '../config/schema.ts';
import { MAX_PATH_LENGTH } from './normalize-path.ts';

export interface RouteMatch {
  route: RouteConfig;
  params: Record<string, string | undefined>;
}

/** Returned for a request target the matcher cannot decode (malformed percent-encoding). */
export const BAD_REQUEST_TARGET = Symbol('bad request target');

export interface RouteTable {
  readonly routes: readonly RouteConfig[];
  /** `url` is the request target (path and query) after normalizePath; the query never takes part in matching. */
  match(method: string, url: string): RouteMatch | null | typeof BAD_REQUEST_TARGET;
  byName(name: string): RouteConfig | undefined;
}

const noop = () => {};

/** A radix-tree matcher over the routes of routes.yaml; anything it does not match stays on legacy. */
export function buildRouteTable(routes: readonly RouteConfig[]): RouteTable {
  let badUrl = false;
  const router = FindMyWay({
    caseSensitive: true,
    ignoreTrailingSlash: false,
    // find-my-way's default (100) sends a longer parameter to legacy even at cutover
    maxParamLength: MAX_PATH_LENGTH,
    onBadUrl: () => {
      badUrl = true;
    },
  });
  for (const route of routes) router.on(route.methods as FindMyWay.HTTPMethod[], route.path, noop, route);
  const names = new Map(routes.map((r) => [r.name, r]));
  return {
    routes,
    match(method, url) {
      const found = router.find(method as FindMyWay.HTTPMethod, url);
      if (found === null) return null;
      if (found.store === null) {
        // find-my-way hands back its onBadUrl handler; only then is store null.
        badUrl = false;
        return BAD_REQUEST_TARGET;
      }
      return { route: found.store as RouteConfig, params: found.params };
    },
    byName: (name) => names.get(name),
  };
}
