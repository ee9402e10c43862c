import type { QueryCondition, RouteConfig } from '../config/schema.ts';

/** A segment written :name in a query value: any one non-empty segment, as in a route's path. */
const PLACEHOLDER = /^:[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * The test a query value must pass: `value` exactly (its :name segments any one segment), or
 * `regex` as written (anchored only where it says ^ and $). Throws on a regex that does not
 * compile; validate-config reports that first.
 */
export function buildQueryPattern(condition: QueryCondition): RegExp {
  if ('regex' in condition) return new RegExp(condition.regex, condition.ignoreCase ? 'i' : '');
  const source = condition.value
    .split('/')
    .map((segment) => (PLACEHOLDER.test(segment) ? '[^/]+' : segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('/');
  return new RegExp(`^${source}$`, condition.ignoreCase ? 'i' : '');
}

/** A segment that starts with ":" but is no :name, e.g. ":" or ":1" (a literal colon elsewhere is fine). */
export function findBadPlaceholder(value: string): string | undefined {
  return value.split('/').find((segment) => segment.startsWith(':') && !PLACEHOLDER.test(segment));
}

/** A route's query conditions as people read them: `?rest_route=/wp/v2/posts/:id&page~/^x$/i`; '' for none. */
export function describeQuery(query: RouteConfig['query']): string {
  const parts = Object.entries(query).map(([name, c]) => ('value' in c ? `${name}=${c.value}` : `${name}~/${c.regex}/`) + (c.ignoreCase ? 'i' : ''));
  return parts.length > 0 ? `?${parts.join('&')}` : '';
}
