import { access } from 'node:fs/promises';
import type { Config, RouteConfig } from '../config/schema.ts';
import { errors } from '../errors.ts';
import { applyShare, describeShare, emptyFlags, readFlagsFile, writeFlagsFile, type ShareChange } from '../flags/flags-file.ts';
import type { RateTracker } from '../metrics/rate-tracker.ts';
import type { ProxyMetrics } from '../metrics/proxy-metrics.ts';
import { buildStoredParityReport } from '../parity/build-parity-report.ts';
import type { ComparisonStore } from '../parity/comparison-store.ts';
import type { Change, RouteController, RouteStatus } from './route-controller.ts';

export interface FlagRouteControllerOptions {
  /** the config requests currently see (it changes on reload) */
  config: () => Config;
  rates: RateTracker;
  store: ComparisonStore | null;
  metrics?: ProxyMetrics;
}

const HOUR = 3_600_000;

/**
 * Routes as the flags file describes them, changed by rewriting it (atomically; the proxy's
 * flag source applies the file within a second). In Unleash server mode, shares are changed in
 * Unleash itself for now: shift/rollback/promote answer STRANGLER_ERR_SHIFT_UNSUPPORTED.
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
  const change = async (name: string, action: Change['action'], share: ShareChange): Promise<Change> => {
    const route = routeNamed(name);
    const flags = config().flags;
    if (flags.kind !== 'file') throw errors.shiftNeedsLocalFlags(flags.url);
    const before = (await readFlags())!;
    const after = applyShare(before, route.flag, share);
    await writeFlagsFile(flags.file, after);
    const from = describeShare(before, route.flag);
    const to = describeShare(after, route.flag);
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
        const share = flags ? describeShare(flags, route.flag) : undefined;
        let parity: number | null = null;
        if (store && (route.stage === 'shadow' || route.shadow.reverse)) {
          const report = await buildStoredParityReport(store, { route: route.name, since: Date.now() - HOUR });
          parity = report.routes[0]?.parity ?? null;
        }
        out.push({
          name: route.name,
          match: `${route.methods.join(',')} ${route.path}`,
          service: route.service,
          stage: route.stage,
          flag: route.flag,
          share: flags ? (share ? (share.percent ?? null) : 0) : null,
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
