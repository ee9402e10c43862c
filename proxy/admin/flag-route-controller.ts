import { access } from 'node:fs/promises';
import type { Config, RouteConfig } from '../config/schema.ts';
import { errors } from '../errors.ts';
import { applyShare, describeShare, emptyFlags, readFlagsFile, writeFlagsFile, type ShareChange } from '../flags/flags-file.ts';
import type { RateTracker } from '../metrics/rate-tracker.ts';
import { createUnleashAdmin, type UnleashAdmin } from '../flags/unleash-admin.ts';
import type { ProxyMetrics } from '../metrics/proxy-metrics.ts';
import { buildStoredParityReport } from '../parity/build-parity-report.ts';
import { describeQuery } from '../routing/query-condition.ts';
import type { ComparisonStore } from '../parity/comparison-store.ts';
import type { Change, RouteController, RouteStatus } from './route-controller.ts';

export interface FlagRouteControllerOptions {
  /** the config requests currently see (it changes on reload) */
  config: () => Config;
  rates: RateTracker;
  /** where comparisons are (a reload may open it); null: none */
  store: () => ComparisonStore | null;
  metrics?: ProxyMetrics;
}

const HOUR = 3_600_000;

/**
 * Routes as their flags describe them. Local mode: the flags file, changed by rewriting it
 * atomically (the proxy's flag source applies it within a second). Server mode: Unleash's admin
 * API (flags.unleash.adminToken), and every proxy follows within its refresh interval; without
 * an admin token, shares are read-only here (STRANGLER_ERR_SHIFT_UNSUPPORTED).
 */
export function createFlagRouteController({ config, rates, store, metrics }: FlagRouteControllerOptions): RouteController {
  const routeNamed = (name: string): RouteConfig => {
    const route = config().routes.find((r) => r.name === name);
    if (!route) throw errors.unknownRoute(name, config().routes.map((r) => r.name));
    return route;
  };
  const readFlags = async () => {
    const flags = config().flags;
    if (flags.kind !== 'file') return undefined;
    const exists = await access(flags.file).then(() => true, () => false);
    return exists ? readFlagsFile(flags.file) : emptyFlags();
  };
  let admin: { key: string; client: UnleashAdmin } | undefined;
  const unleashAdmin = (): UnleashAdmin | undefined => {
    const flags = config().flags;
    if (flags.kind !== 'unleash' || !flags.adminToken) return undefined;
    const key = `${flags.url} ${flags.project} ${flags.environment} ${flags.adminToken}`;
    if (admin?.key !== key) admin = { key, client: createUnleashAdmin({ url: flags.url, token: flags.adminToken, project: flags.project, environment: flags.environment }) };
    return admin.client;
  };
  /** the share of a flag: from the file, or from Unleash; undefined when unknown */
  const shareOf = async (flag: string, file: Awaited<ReturnType<typeof readFlags>>): Promise<{ enabled: boolean; percent: number | undefined } | undefined | null> => {
    if (file) return describeShare(file, flag);
    const client = unleashAdmin();
    return client ? client.describe(flag).catch(() => null) : null;
  };
  const change = async (name: string, action: Change['action'], share: ShareChange): Promise<Change> => {
    const route = routeNamed(name);
    const flags = config().flags;
    let from: ReturnType<typeof describeShare>;
    let to: ReturnType<typeof describeShare>;
    if (flags.kind === 'file') {
      const before = (await readFlags())!;
      const after = applyShare(before, route.flag, share);
      await writeFlagsFile(flags.file, after);
      from = describeShare(before, route.flag);
      to = describeShare(after, route.flag);
    } else {
      const client = unleashAdmin();
      if (!client) throw errors.shiftNeedsLocalFlags(flags.url);
      from = await client.describe(route.flag).catch(() => undefined);
      if ('percent' in share) await client.setRollout(route.flag, share.percent);
      else await client.setEnabled(route.flag, share.enabled);
      to = await client.describe(route.flag);
    }
    if (to?.percent !== undefined) metrics?.setShare(route.name, to.enabled ? to.percent : 0);
    return {
      route: route.name,
      action,
      from: { share: from?.percent ?? (from ? null : 0), enabled: from?.enabled ?? false },
      to: { share: to?.percent ?? null, enabled: to?.enabled ?? false },
    };
  };

  return {
    async list() {
      const flags = await readFlags();
      const out: RouteStatus[] = [];
      for (const route of config().routes) {
        const share = await shareOf(route.flag, flags);
        if (share?.percent !== undefined) metrics?.setShare(route.name, share.enabled ? share.percent : 0);
        let parity: number | null = null;
        const comparisons = store();
        if (comparisons && (route.stage === 'shadow' || route.shadow.reverse)) {
          const report = await buildStoredParityReport(comparisons, { route: route.name, since: Date.now() - HOUR });
          parity = report.routes[0]?.parity ?? null;
        }
        out.push({
          name: route.name,
          match: `${route.methods.join(',')} ${route.path}${describeQuery(route.query)}`,
          service: route.service,
          stage: route.stage,
          flag: route.flag,
          share: share === null ? null : share ? (share.percent ?? null) : 0,
          enabled: share?.enabled ?? false,
          rates: rates.rates(route.name),
          parity,
        });
      }
      return out;
    },
    shift: (route, percent) => {
      if (!Number.isInteger(percent) || percent < 0 || percent > 100) throw errors.badPercent(String(percent));
      return change(route, 'shift', { percent });
    },
    rollback: (route) => change(route, 'rollback', { percent: 0 }),
    // without a rollout plan (not built yet), promoting is going to 100 % at once
    promote: (route) => change(route, 'promote', { percent: 100 }),
  };
}
