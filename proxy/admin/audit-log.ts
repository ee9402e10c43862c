import type { Knex } from 'knex';
import type { Actor, AuditEntry, Change } from './route-controller.ts';

/**
 * The audit log of route changes, in the proxy's database (table strangler_audit, created by
 * migrateProxyStore, which the caller runs first). Unlike comparisons it is written at once and
 * awaited: a change the log does not hold must not look done.
 */
export interface AuditLog {
  /** resolves once the entry is stored */
  append(entry: AuditEntry): Promise<void>;
  /** newest first */
  list(query: AuditQuery): Promise<AuditEntry[]>;
}

export interface AuditQuery {
  route?: string;
  limit: number;
  /** epoch ms, inclusive */
  since?: number;
}

interface AuditRow {
  at: number | string;
  route: string;
  action: Change['action'];
  actor_token: Actor['token'];
  actor_address: string | null;
  from_json: string;
  to_json: string;
  reason: string;
}

/** The audit log on a knex database whose life stays with the caller. */
export function createAuditLog(db: Knex): AuditLog {
  return {
    async append(entry) {
      const at = Date.parse(entry.at);
      if (!Number.isFinite(at)) throw new TypeError(`audit entry time "${entry.at}" is not ISO 8601`);
      await db('strangler_audit').insert({
        at,
        route: entry.change.route,
        action: entry.change.action,
        actor_token: entry.actor.token,
        actor_address: entry.actor.address ?? null,
        from_json: JSON.stringify(entry.change.from),
        to_json: JSON.stringify(entry.change.to),
        reason: entry.reason,
      });
    },
    async list({ route, limit, since }) {
      const q = db('strangler_audit')
        .select('at', 'route', 'action', 'actor_token', 'actor_address', 'from_json', 'to_json', 'reason')
        // id breaks ties between changes made in the same millisecond
        .orderBy([{ column: 'at', order: 'desc' }, { column: 'id', order: 'desc' }])
        .limit(limit);
      if (route !== undefined) q.where('route', route);
      if (since !== undefined) q.where('at', '>=', since);
      return ((await q) as AuditRow[]).map(toEntry);
    },
  };
}

function toEntry(row: AuditRow): AuditEntry {
  const actor: Actor = { token: row.actor_token };
  if (row.actor_address !== null) actor.address = row.actor_address;
  return {
    at: new Date(Number(row.at)).toISOString(),
    actor,
    change: { route: row.route, action: row.action, from: JSON.parse(row.from_json), to: JSON.parse(row.to_json) },
    reason: row.reason,
  };
}
