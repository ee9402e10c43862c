import { mkdirSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { Logger } from 'pino';
import type { Config } from '../config/schema.ts';
import { errors } from '../errors.ts';
import { migrateWhenFree } from '../parity/comparison-store.ts';
import type { Proxy } from '../server.ts';
import { comparesAnyRoute } from '../server.ts';
import { createDb, parseDatabaseUrl } from '../../services/shared/database.ts';
import { buildAdminApp, type Readiness } from './admin-app.ts';
import { createAuditLog } from './audit-log.ts';
import { createFlagRouteController } from './flag-route-controller.ts';
import type { RouteController } from './route-controller.ts';
import { createRolloutDriver, type RolloutDriver } from '../rollout/rollout-driver.ts';
import os from 'node:os';
import { describeShare, readFlagsFile } from '../flags/flags-file.ts';

export interface RunningAdmin {
  url: string;
  rollouts: RolloutDriver;
  stop(): Promise<void>;
}

/**
 * The admin API of a running proxy, on its own address (routes.yaml admin.listen, 127.0.0.1 by
 * default). The audit log lives in the proxy's database (comparisons.database).
 */
export async function startAdmin(proxy: Proxy, config: Config, logger: Logger): Promise<RunningAdmin> {
  const admin = config.admin!;
  const database = config.comparisons.database;
  const target = parseDatabaseUrl(database);
  if (target.kind === 'sqlite') mkdirSync(path.dirname(target.filename), { recursive: true });
  const db = createDb(database);
  await migrateWhenFree(db);
  const flagController = createFlagRouteController({ config: () => proxy.state.config, rates: proxy.rates, store: () => proxy.store, metrics: proxy.metrics });
  const audit = createAuditLog(db);
  const rollouts = createRolloutDriver({
    db,
    config: () => proxy.state.config,
    controller: flagController,
    audit,
    stats: proxy.stepStats,
    store: () => proxy.store,
    logger: logger.child({ component: 'rollout' }),
    metrics: proxy.metrics,
    holder: `${os.hostname()}:${process.pid}`,
  });
  // what operators do: promote starts the route's plan; a hand-made change stops a running one
  const controller: RouteController = {
    async list() {
      const routes = await flagController.list();
      for (const route of routes) {
        const plan = proxy.state.config.routes.find((r) => r.name === route.name)?.rollout;
        const state = plan ? await rollouts.state(route.name) : undefined;
        if (plan && state) route.rollout = { status: state.status, step: state.step + 1, steps: plan.steps, reason: state.reason };
      }
      return routes;
    },
    promote: (route, actor, reason) => rollouts.start(route, actor, reason),
    async shift(route, percent, actor, reason) {
      await rollouts.stop(route, `stopped by an operator's shift to ${percent} %: ${reason}`);
      return flagController.shift(route, percent, actor, reason);
    },
    async rollback(route, actor, reason) {
      await rollouts.stop(route, `stopped by an operator's rollback: ${reason}`);
      return flagController.rollback(route, actor, reason);
    },
  };
  const readiness = (): Readiness => {
    const state = proxy.state;
    const breakers = Object.values(state.breakers.states());
    const checks: Readiness['checks'] = {
      // the last known flags keep routing: degraded, not down
      controlPlane: state.flags.degraded() ? 'degraded' : 'ok',
      breakers: breakers.some((b) => b !== 'closed') ? 'degraded' : 'ok',
      comparisons: comparesAnyRoute(state.config) && !proxy.store ? 'degraded' : 'ok',
      load: state.shedder.stats.shed['event-loop'] > 0 && state.shedder.stats.eventLoopDelayMs > state.config.limits.maxEventLoopDelayMs && state.config.limits.maxEventLoopDelayMs > 0 ? 'degraded' : 'ok',
    };
    return { ready: !Object.values(checks).includes('down'), checks };
  };
  const app = buildAdminApp({
    controller,
    audit,
    tokens: { read: admin.readToken, operator: admin.operatorToken },
    logger: logger.child({ component: 'admin' }),
    readiness,
    renderMetrics: async () => {
      proxy.metrics.setControlPlane(proxy.state.flags.degraded());
      await refreshShares(proxy, logger);
      return { contentType: proxy.metrics.contentType, body: await proxy.metrics.render() };
    },
  });
  try {
    await app.listen({ host: admin.listen.host, port: admin.listen.port });
  } catch (err) {
    await app.close();
    await db.destroy();
    throw (err as NodeJS.ErrnoException).code === 'EADDRINUSE' ? errors.portInUse('the admin API', `${admin.listen.host}:${admin.listen.port}`, err) : err;
  }
  const address = app.server.address() as AddressInfo;
  const url = `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`;
  logger.info({ url, readOnly: !admin.operatorToken }, 'admin API listening');
  return {
    url,
    rollouts,
    async stop() {
      rollouts.close();
      await app.close();
      await db.destroy();
    },
  };
}

/**
 * Local mode: the share gauge from the flags file at scrape time, so a restarted proxy (or one
 * whose file was edited by hand) shows it before anyone asks for /routes. In server mode the
 * gauge follows the changes made through this proxy and GET /routes, without an Unleash
 * admin API call per scrape.
 */
async function refreshShares(proxy: Proxy, logger: Logger): Promise<void> {
  const { flags, routes } = proxy.state.config;
  if (flags.kind !== 'file') return;
  try {
    const data = await readFlagsFile(flags.file);
    for (const route of routes) {
      const share = describeShare(data, route.flag);
      if (share?.percent !== undefined) proxy.metrics.setShare(route.name, share.enabled ? share.percent : 0);
    }
  } catch (err) {
    logger.warn({ err, file: flags.file }, 'flags file unreadable: the share gauge keeps its last values');
  }
}
