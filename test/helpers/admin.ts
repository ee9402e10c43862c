import pino, { type Logger } from 'pino';
import { errors } from '../../proxy/errors.ts';
import type { Actor, Change, RouteController, RouteStatus } from '../../proxy/admin/route-controller.ts';

export const TOKENS = { read: 'read-token-0123456789', operator: 'operator-token-9876543210' };

/**
 * An in-memory RouteController: the admin tests isolate the HTTP API from the flag sources on
 * purpose. It records every call so a test can tell that a refused request changed nothing.
 */
export function createFakeController(names: string[] = ['rooms-get', 'rooms-list']) {
  const state = new Map(names.map((name) => [name, { share: 0 as number | null, enabled: true }]));
  const calls: Array<{ action: Change['action']; route: string; actor: Actor; reason: string }> = [];
  const set = (route: string, action: Change['action'], share: number, actor: Actor, reason: string): Change => {
    const current = state.get(route);
    if (!current) throw errors.unknownRoute(route, [...state.keys()]);
    calls.push({ action, route, actor, reason });
    const from = { ...current };
    current.share = share;
    return { route, action, from, to: { ...current } };
  };
  const controller: RouteController = {
    async list() {
      return [...state].map(
        ([name, s]): RouteStatus => ({
          name,
          match: `GET /api/${name}`,
          service: 'rooms',
          stage: 'canary',
          flag: name,
          share: s.share,
          enabled: s.enabled,
          rates: {},
          parity: null,
        }),
      );
    },
    async shift(route, percent, actor, reason) {
      if (!Number.isInteger(percent) || percent < 0 || percent > 100) throw errors.badPercent(String(percent));
      return set(route, 'shift', percent, actor, reason);
    },
    async rollback(route, actor, reason) {
      return set(route, 'rollback', 0, actor, reason);
    },
    async promote(route, actor, reason) {
      return set(route, 'promote', 100, actor, reason);
    },
  };
  return { controller, state, calls };
}

/** A pino logger whose lines a test can read back. */
export function createCapturingLogger(): { logger: Logger; lines: Array<Record<string, any>> } {
  const lines: Array<Record<string, any>> = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line)) });
  return { logger, lines };
}
