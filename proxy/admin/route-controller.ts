import type { RouteStage } from '../config/schema.ts';

/**
 * What the admin API (and through it the CLI) may read and change about routes. The proxy
 * implements it over its flag source (local flags file or Unleash server); the admin app only
 * sees this interface.
 */

/** Who asked for a change: which token, from where. */
export interface Actor {
  /** 'operator' or 'read' (the token kind), or 'rollout' for the automatic rollout */
  token: 'operator' | 'read' | 'rollout';
  /** remote address of the admin request, when there was one */
  address?: string;
}

export interface RouteStatus {
  name: string;
  match: string;
  service: string;
  stage: RouteStage;
  flag: string;
  /** the flag's current share in percent (0-100); null when the flag has a shape strangler did not write */
  share: number | null;
  /** the kill switch: false means every request goes to legacy whatever the share */
  enabled: boolean;
  /** requests per second over the last minute, by target */
  rates: Record<string, number>;
  /** parity of the last hour, percent; null when nothing was compared */
  parity: number | null;
  /** the route's rollout plan in progress or last run; absent without one */
  rollout?: { status: string; step: number; steps: readonly number[]; reason: string };
}

export interface Change {
  route: string;
  action: 'shift' | 'rollback' | 'promote';
  from: { share: number | null; enabled: boolean };
  to: { share: number | null; enabled: boolean };
}

export interface RouteController {
  list(): Promise<RouteStatus[]>;
  /** sets the route's share; throws STRANGLER_ERR_UNKNOWN_ROUTE / STRANGLER_ERR_BAD_PERCENT */
  shift(route: string, percent: number, actor: Actor, reason: string): Promise<Change>;
  /** back to 0 % at once */
  rollback(route: string, actor: Actor, reason: string): Promise<Change>;
  /** starts the route's rollout plan (or, without one, 100 %) */
  promote(route: string, actor: Actor, reason: string): Promise<Change>;
}

/** One line of the audit log: every change, who made it, when, from what to what, why. */
export interface AuditEntry {
  /** ISO 8601 */
  at: string;
  actor: Actor;
  change: Change;
  reason: string;
}
