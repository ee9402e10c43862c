import { fetchText } from '../util/fetch-text.ts';
import { errors, StranglerError } from '../errors.ts';
import type { AuditEntry, Change, RouteStatus } from './route-controller.ts';

/**
 * The admin API seen from the CLI. A refusal comes back as the server's own StranglerError
 * (same code and message), so the CLI prints what the proxy said.
 */
export interface AdminClient {
  routes(): Promise<RouteStatus[]>;
  shift(route: string, percent: number, reason: string): Promise<Change>;
  rollback(route: string, reason: string): Promise<Change>;
  promote(route: string, reason: string): Promise<Change>;
  audit(query?: { route?: string; limit?: number }): Promise<AuditEntry[]>;
}

// An admin call reads or writes a few rows; longer than this the proxy is stuck, not busy.
const REQUEST_TIMEOUT_MS = 10_000;

export function createAdminClient(baseUrl: string, token: string): AdminClient {
  const base = baseUrl.replace(/\/+$/, '');

  const call = async <T>(method: 'GET' | 'POST', path: string, body?: object): Promise<T> => {
    let res: Response;
    let text: string;
    try {
      ({ res, text } = await fetchText(base + path, { method, headers: { authorization: `Bearer ${token}` }, body, timeoutMs: REQUEST_TIMEOUT_MS }));
    } catch (err) {
      throw errors.adminUnreachable(base, (err as { describe?: string }).describe ?? String(err), err);
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw errors.adminBadResponse(base + path, res.status, `${res.headers.get('content-type') ?? 'no content type'}, not JSON`);
    }
    if (res.ok) return parsed as T;
    const error = (parsed as { error?: { code?: unknown; message?: unknown } } | null)?.error;
    if (typeof error?.code !== 'string' || typeof error.message !== 'string') {
      throw errors.adminBadResponse(base + path, res.status, 'no {error: {code, message}} in the body');
    }
    throw new StranglerError(error.code, res.status, error.message);
  };

  const routePath = (route: string, action: string) => `/routes/${encodeURIComponent(route)}/${action}`;

  return {
    async routes() {
      return (await call<{ routes: RouteStatus[] }>('GET', '/routes')).routes;
    },
    async shift(route, percent, reason) {
      return (await call<{ change: Change }>('POST', routePath(route, 'shift'), { percent, reason })).change;
    },
    async rollback(route, reason) {
      return (await call<{ change: Change }>('POST', routePath(route, 'rollback'), { reason })).change;
    },
    async promote(route, reason) {
      return (await call<{ change: Change }>('POST', routePath(route, 'promote'), { reason })).change;
    },
    async audit({ route, limit } = {}) {
      const query = new URLSearchParams();
      if (route !== undefined) query.set('route', route);
      if (limit !== undefined) query.set('limit', String(limit));
      const qs = query.size > 0 ? `?${query}` : '';
      return (await call<{ entries: AuditEntry[] }>('GET', `/audit${qs}`)).entries;
    },
  };
}

/** "ECONNREFUSED", "no answer within 10000 ms", … */
