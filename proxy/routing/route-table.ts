import FindMyWay from 'find-my-way';
import type { RouteConfig } from '../config/schema.ts';
import { MAX_PATH_LENGTH } from './normalize-path.ts';
import { buildQueryPattern } from './query-condition.ts';
import { readQuery } from './read-query.ts';

export interface RouteMatch {
  route: RouteConfig;
  params: Record<string, string | undefined>;
}

/** Returned for a request target the matcher cannot decode (malformed percent-encoding). */
export const BAD_REQUEST_TARGET = Symbol('bad request target');

/** Returned for a query that a query-routed path cannot read as PHP would (read-query.ts). */
export const UNREADABLE_QUERY = Symbol('unreadable query');

export interface RouteTable {
  readonly routes: readonly RouteConfig[];
  /**
   * `url` is the request target (path and query) after normalizePath. The query takes part only
   * for routes with query conditions, and only when the path has such routes and the URL a ?.
   */
  match(method: string, url: string): RouteMatch | null | typeof BAD_REQUEST_TARGET | typeof UNREADABLE_QUERY;
  byName(name: string): RouteConfig | undefined;
}

/** A route with query conditions, compiled. */
interface QueryRoute {
  route: RouteConfig;
  tests: ReadonlyArray<readonly [name: string, pattern: RegExp]>;
}

/**
 * What one method and path hold when some of their routes have query conditions: those, in
 * routes.yaml order (the first that holds wins), and the route without conditions, if any.
 * A path without query routes holds its RouteConfig itself, so its match costs what it did.
 */
class QueryRoutes {
  readonly queried: QueryRoute[] = [];
  readonly names = new Set<string>();
  plain: RouteConfig | null = null;

  add(route: RouteConfig): void {
    const tests = Object.entries(route.query).map(([name, condition]) => [name, buildQueryPattern(condition)] as const);
    for (const [name] of tests) this.names.add(name);
    this.queried.push({ route, tests });
  }

  /** the first query route whose conditions all hold, null for none */
  pick(query: string): RouteConfig | null | typeof UNREADABLE_QUERY {
    const values = readQuery(query, this.names);
    if (typeof values === 'string') return UNREADABLE_QUERY;
    next: for (const { route, tests } of this.queried) {
      for (const [name, pattern] of tests) {
        const value = values.get(name);
        if (typeof value !== 'string' || !pattern.test(value)) continue next;
      }
      return route;
    }
    return null;
  }
}

const noop = () => {};

const isQueryRoute = (route: RouteConfig) => Object.keys(route.query).length > 0;

/**
 * A radix-tree matcher over the routes of routes.yaml; anything it does not match stays on
 * legacy. A query route whose path ends in * (`GET /*`) applies on every path under it, even one
 * another route matches, because front controllers read their routing parameter on every page
 * (WordPress serves /any/page/?rest_route=/wp/v2/users as the REST route): those live in a
 * second tree, consulted only for a URL with a ? when there are any.
 */
export function buildRouteTable(routes: readonly RouteConfig[]): RouteTable {
  let badUrl = false;
  const options = {
    caseSensitive: true,
    ignoreTrailingSlash: false,
    // find-my-way's default (100) sends a longer parameter to legacy even at cutover
    maxParamLength: MAX_PATH_LENGTH,
    onBadUrl: () => {
      badUrl = true;
    },
  };
  const router = FindMyWay(options);
  const wildcards = routes.some((r) => isQueryRoute(r) && r.path.endsWith('*')) ? FindMyWay(options) : null;

  // method + path → what find-my-way stores for them; one registration per pair
  const entries = new Map<string, { tree: FindMyWay.Instance<FindMyWay.HTTPVersion.V1>; method: string; path: string; store: RouteConfig | QueryRoutes }>();
  for (const route of routes) {
    const queried = isQueryRoute(route);
    const tree = queried && wildcards && route.path.endsWith('*') ? wildcards : router;
    for (const method of route.methods) {
      // validate-config refuses two routes on one method, path shape and query; :names may differ
      const key = `${tree === router ? '' : '*'}${method} ${route.path.replace(/:[^/]+/g, ':')}`;
      const entry = entries.get(key);
      if (!queried && !entry) entries.set(key, { tree, method, path: route.path, store: route });
      else {
        const group = entry?.store instanceof QueryRoutes ? entry.store : new QueryRoutes();
        if (entry && !(entry.store instanceof QueryRoutes)) group.plain = entry.store;
        if (queried) group.add(route);
        else group.plain = route;
        entries.set(key, { tree, method, path: entry?.path ?? route.path, store: group });
      }
    }
  }
  for (const { tree, method, path, store } of entries.values()) tree.on(method as FindMyWay.HTTPMethod, path, noop, store);
  const names = new Map(routes.map((r) => [r.name, r]));

  /** the slow path: the matched path has query routes, or some query route applies on any path */
  const matchQuery = (method: string, url: string, found: FindMyWay.FindResult<FindMyWay.HTTPVersion.V1> | null): ReturnType<RouteTable['match']> => {
    const own = found?.store instanceof QueryRoutes ? found.store : null;
    const question = url.indexOf('?');
    if (question !== -1) {
      const query = url.slice(question + 1);
      if (own) {
        const route = own.pick(query);
        if (route !== null) return route === UNREADABLE_QUERY ? route : { route, params: found!.params };
      }
      const wide = wildcards?.find(method as FindMyWay.HTTPMethod, url);
      if (wide && wide.store === null) {
        badUrl = false;
        return BAD_REQUEST_TARGET;
      }
      if (wide) {
        const route = (wide.store as QueryRoutes).pick(query);
        if (route !== null) return route === UNREADABLE_QUERY ? route : { route, params: wide.params };
      }
    }
    const plain = own ? own.plain : ((found?.store as RouteConfig | undefined) ?? null);
    return plain ? { route: plain, params: found!.params } : null;
  };

  return {
    routes,
    match(method, url) {
      const found = router.find(method as FindMyWay.HTTPMethod, url);
      if (found === null) return wildcards === null ? null : matchQuery(method, url, null);
      if (found.store === null) {
        // find-my-way hands back its onBadUrl handler; only then is store null.
        badUrl = false;
        return BAD_REQUEST_TARGET;
      }
      if (wildcards === null && !(found.store instanceof QueryRoutes)) return { route: found.store as RouteConfig, params: found.params };
      return matchQuery(method, url, found);
    },
    byName: (name) => names.get(name),
  };
}
