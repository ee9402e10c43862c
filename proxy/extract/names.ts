/**
 * Names an extraction derives from its inputs: the route name from method + path, and the
 * TypeScript identifiers of the generated service and route module.
 */

/** The verb a route name ends with when its path does not already name the action. */
const VERBS: Readonly<Record<string, string>> = {
  POST: 'create',
  PUT: 'update',
  PATCH: 'update',
  DELETE: 'delete',
  OPTIONS: 'options',
};

/**
 * `GET /api/diaries` → `diaries-list`, `GET /api/rooms/:id` → `rooms-get`,
 * `GET /api/users/:id/checkins` → `users-checkins`, `POST /api/diaries` → `diaries-create`.
 * The leading `api` segment and path parameters are dropped; a path whose last segment is a
 * sub-resource or an action (two or more static segments) needs no verb.
 */
export function deriveRouteName(method: string, path: string): string {
  const segments = path.split('/').filter((s) => s !== '' && s !== '*');
  if (segments[0] === 'api') segments.shift();
  const statics = segments.filter((s) => !s.startsWith(':')).map(slug).filter((s) => s !== '');
  const endsWithParam = segments.length > 0 && segments[segments.length - 1].startsWith(':');
  const base = statics.length > 0 ? statics.join('-') : 'root';
  if (statics.length >= 2 && !endsWithParam) return base;
  const verb = method === 'GET' || method === 'HEAD' ? (endsWithParam ? 'get' : 'list') : (VERBS[method] ?? method.toLowerCase());
  return `${base}-${verb}`;
}

function slug(segment: string): string {
  return segment
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
}

/** `user-stats` → `UserStats`; a leading digit gets an underscore so the result is an identifier. */
export function toPascalCase(name: string): string {
  const pascal = name
    .split('-')
    .filter(Boolean)
    .map((part) => part[0].toUpperCase() + part.slice(1))
    .join('');
  return /^[0-9]/.test(pascal) ? `_${pascal}` : pascal;
}

/** `diaries-list` → `registerDiariesListRoute`, the function its route module exports. */
export function registerFunctionName(routeName: string): string {
  return `register${toPascalCase(routeName)}Route`;
}

/** `diaries` → `startDiaries`, the function server.ts exports. */
export function startFunctionName(serviceName: string): string {
  return `start${toPascalCase(serviceName)}`;
}
