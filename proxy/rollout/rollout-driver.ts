import type { Knex } from 'knex';
import type { Logger } from 'pino';
import type { Actor, AuditEntry, Change, RouteController } from '../admin/route-controller.ts';
import type { Config, RolloutPlan, RouteConfig } from '../config/schema.ts';
import { errors } from '../errors.ts';
import type { ProxyMetrics } from '../metrics/proxy-metrics.ts';
import { buildStoredParityReport } from '../parity/build-parity-report.ts';
import type { ComparisonStore } from '../parity/comparison-store.ts';
import { LEGACY } from '../pipeline/exchange.ts';
import type { StepStats } from './step-stats.ts';

/**
 * Progressive rollout that runs itself. `promote` puts a route on the first step of its plan;
 * every tick the driver judges the current step on what happened since it began: the service's
 * 5xx rate (above legacy's own), its p99, and the parity of the step's comparisons. A failing
 * gate rolls the route back to 0 % at once; a step that held for its interval moves to the next;
 * a step without enough traffic waits. Every move is written to the audit log with its reason.
 *
 * State lives in the database (strangler_rollouts), so a restarted proxy resumes its plans; a
 * lease (strangler_leases) makes one proxy replica drive while all of them obey the flag.
 */
export interface RolloutDriver {
  start(route: string, actor: Actor, reason: string): Promise<Change>;
  /** an operator changed the route by hand: its plan stops */
  stop(route: string, why: string): Promise<void>;
  state(route: string): Promise<RolloutState | undefined>;
  /** judges every running plan once (the timer calls it; tests may too) */
  tick(now?: number): Promise<void>;
  close(): void;
}

export interface RolloutState {
  route: string;
  /** index into the plan's steps */
  step: number;
  stepStartedAt: number;
  status: 'running' | 'done' | 'rolled-back' | 'stopped';
  /** what the last judgement said */
  reason: string;
}

export interface RolloutDriverOptions {
  db: Knex;
  config: () => Config;
  controller: RouteController;
  audit: { append(entry: AuditEntry): Promise<void> };
  stats: StepStats;
  /** where comparisons are (a reload may open it); null: minParity is not judged */
  store: () => ComparisonStore | null;
  logger: Logger;
  metrics?: ProxyMetrics;
  /** this proxy's name in the lease */
  holder: string;
  tickMs?: number;
}

const LEASE = 'rollout-driver';
const ROLLOUT_ACTOR: Actor = { token: 'rollout' };

export function createRolloutDriver(options: RolloutDriverOptions): RolloutDriver {
  const { db, config, controller, audit, stats, store, logger, metrics, holder, tickMs = 1000 } = options;
  const leaseMs = Math.max(3 * tickMs, 3000);

  const routeOf = (name: string): RouteConfig => {
    const route = config().routes.find((r) => r.name === name);
    if (!route) throw errors.unknownRoute(name, config().routes.map((r) => r.name));
    return route;
  };
  const read = async (route: string): Promise<RolloutState | undefined> => {
    const row = await db('strangler_rollouts').where({ route }).first('state');
    return row ? (JSON.parse(row.state) as RolloutState) : undefined;
  };
  const write = async (state: RolloutState): Promise<void> => {
    const row = { route: state.route, state: JSON.stringify(state), updated_at: Date.now() };
    const updated = await db('strangler_rollouts').where({ route: state.route }).update(row);
    if (updated === 0) await db('strangler_rollouts').insert(row);
  };
  const record = async (change: Change, reason: string) => {
    await audit.append({ at: new Date().toISOString(), actor: ROLLOUT_ACTOR, change, reason });
  };

  /** true when this proxy holds (or just took) the driver's lease */
  const lease = async (now: number): Promise<boolean> => {
    const until = now + leaseMs;
    const taken = await db('strangler_leases')
      .where({ name: LEASE })
      .andWhere((q) => q.where({ holder }).orWhere('expires_at', '<', now))
      .update({ holder, expires_at: until });
    if (taken > 0) return true;
    try {
      await db('strangler_leases').insert({ name: LEASE, holder, expires_at: until });
      return true;
    } catch {
      return false; // another replica holds it
    }
  };

  const rollBack = async (state: RolloutState, plan: RolloutPlan, why: string) => {
    const change = await controller.rollback(state.route, ROLLOUT_ACTOR, why);
    const next: RolloutState = { ...state, status: 'rolled-back', reason: why };
    await write(next);
    await record(change, `rollout rolled back at step ${state.step + 1}/${plan.steps.length} (${plan.steps[state.step]} %): ${why}`);
    stats.reset(state.route);
    metrics?.setRolloutStep(state.route, 0);
    logger.error({ route: state.route, step: plan.steps[state.step], why }, 'rollout rolled back');
  };

  const judge = async (state: RolloutState, plan: RolloutPlan, route: RouteConfig, now: number): Promise<void> => {
    const byTarget = stats.read(route.name);
    const service = byTarget[route.service] ?? { requests: 0, errors: 0, p99Ms: null };
    const legacy = byTarget[LEGACY] ?? { requests: 0, errors: 0, p99Ms: null };
    const elapsed = now - state.stepStartedAt;
    if (service.requests >= plan.minRequests) {
      const errorRate = service.errors / service.requests;
      const baseline = legacy.requests > 0 ? legacy.errors / legacy.requests : 0;
      if (errorRate - baseline > plan.maxErrorRate) {
        return rollBack(state, plan, `service 5xx rate ${pct(errorRate)} (legacy ${pct(baseline)}) over ${service.requests} requests exceeds maxErrorRate ${pct(plan.maxErrorRate)}`);
      }
      if (plan.maxP99Ms !== null && service.p99Ms !== null && service.p99Ms > plan.maxP99Ms) {
        return rollBack(state, plan, `service p99 ${service.p99Ms.toFixed(0)} ms over ${service.requests} requests exceeds maxP99 ${plan.maxP99Ms} ms`);
      }
      if (plan.maxP99Ratio !== null && service.p99Ms !== null && legacy.p99Ms !== null && legacy.requests >= plan.minRequests && service.p99Ms > legacy.p99Ms * plan.maxP99Ratio) {
        return rollBack(state, plan, `service p99 ${service.p99Ms.toFixed(0)} ms is more than ${plan.maxP99Ratio}x legacy's ${legacy.p99Ms.toFixed(0)} ms`);
      }
      const comparisons = store();
      if (plan.minParity !== null && comparisons) {
        const parity = (await buildStoredParityReport(comparisons, { route: route.name, since: state.stepStartedAt })).routes[0];
        if (parity && parity.parity !== null && parity.parity < plan.minParity) {
          return rollBack(state, plan, `parity ${parity.parity.toFixed(2)} % over ${parity.compared} comparisons is below minParity ${plan.minParity} %`);
        }
      }
    }
    if (elapsed < plan.intervalMs) return;
    if (service.requests < plan.minRequests) {
      const waiting = `waiting for traffic: ${service.requests} of ${plan.minRequests} service requests at ${plan.steps[state.step]} %`;
      if (state.reason !== waiting) await write({ ...state, reason: waiting });
      return;
    }
    const held = `step ${state.step + 1}/${plan.steps.length} (${plan.steps[state.step]} %) held for ${Math.round(elapsed / 1000)} s over ${service.requests} requests: 5xx ${pct(service.errors / service.requests)}${service.p99Ms !== null ? `, p99 ${service.p99Ms.toFixed(0)} ms` : ''}`;
    if (state.step === plan.steps.length - 1) {
      await write({ ...state, status: 'done', reason: held });
      logger.info({ route: route.name }, 'rollout done');
      return;
    }
    const step = state.step + 1;
    const change = await controller.shift(route.name, plan.steps[step], ROLLOUT_ACTOR, held);
    stats.reset(route.name);
    await write({ ...state, step, stepStartedAt: now, reason: held });
    await record(change, `rollout advanced: ${held}`);
    metrics?.setRolloutStep(route.name, step + 1);
    logger.info({ route: route.name, step: plan.steps[step] }, 'rollout advanced');
  };

  let ticking = false;
  const tick = async (now = Date.now()): Promise<void> => {
    if (ticking) return;
    ticking = true;
    try {
      const states = ((await db('strangler_rollouts').select('state')) as Array<{ state: string }>).map((r) => JSON.parse(r.state) as RolloutState);
      // every replica shows the step, not only the one driving (nor only after it moved once)
      for (const state of states) {
        if (config().routes.some((r) => r.name === state.route && r.rollout)) metrics?.setRolloutStep(state.route, state.status === 'running' || state.status === 'done' ? state.step + 1 : 0);
      }
      const running = states.filter((s) => s.status === 'running');
      if (running.length === 0 || !(await lease(now))) return;
      for (const state of running) {
        const route = config().routes.find((r) => r.name === state.route);
        if (!route?.rollout) {
          await write({ ...state, status: 'stopped', reason: 'the route or its rollout plan is gone from routes.yaml' });
          continue;
        }
        await judge(state, route.rollout, route, now);
      }
    } catch (err) {
      logger.error({ err }, 'rollout tick failed; plans stay where they are');
    } finally {
      ticking = false;
    }
  };
  const timer = setInterval(() => void tick(), tickMs);
  timer.unref();

  return {
    async start(name, actor, reason) {
      const route = routeOf(name);
      const plan = route.rollout;
      if (!plan) return controller.promote(name, actor, reason);
      const change = await controller.shift(name, plan.steps[0], actor, reason);
      stats.reset(name);
      await write({ route: name, step: 0, stepStartedAt: Date.now(), status: 'running', reason: `started: ${reason}` });
      metrics?.setRolloutStep(name, 1);
      logger.info({ route: name, steps: plan.steps }, 'rollout started');
      return { ...change, action: 'promote' };
    },
    async stop(name, why) {
      const state = await read(name);
      if (state?.status === 'running') await write({ ...state, status: 'stopped', reason: why });
    },
    state: read,
    tick,
    close() {
      clearInterval(timer);
    },
  };
}

function pct(x: number): string {
  return `${(x * 100).toFixed(2)} %`;
}
