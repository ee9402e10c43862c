import { timingSafeEqual } from 'node:crypto';
import type { Config } from '../config/schema.ts';
import { errors } from '../errors.ts';
import { buildContext } from '../flags/build-context.ts';
import type { FlagSource } from '../flags/flag-source.ts';
import type { ForwardPlan, Forwarder } from '../forward/forwarder.ts';
import { respondWithError } from '../forward/upstream-error.ts';
import { BAD_REQUEST_TARGET, type RouteTable } from '../routing/route-table.ts';
import { buildPathError, isPathRejection, normalizePath } from '../routing/normalize-path.ts';
import type { Redactor } from '../parity/redact.ts';
import type { TrafficRecorder } from '../record/traffic-recorder.ts';
import type { ShadowRunner } from '../shadow/shadow-runner.ts';
import type { BreakerBoard } from '../safety/circuit-breaker.ts';
import type { LoadShedder } from '../safety/load-shedder.ts';
import { SAFE_METHODS } from '../config/schema.ts';
import { chainTaps, LEGACY, type Exchange } from './exchange.ts';

/** What the stages read; swapped as a whole when the config is reloaded. */
export interface ProxyState {
  readonly config: Config;
  readonly routes: RouteTable;
  readonly flags: FlagSource;
  readonly forwarder: Forwarder;
  readonly shadow: ShadowRunner;
  readonly recorder: TrafficRecorder;
  /** per service, across reloads */
  readonly breakers: BreakerBoard;
  readonly shedder: LoadShedder;
  /** what comparisons and recordings hide (config.comparisons.redact) */
  readonly redactor: Redactor;
  /** how the forward stage sends requests (forwardPlans) */
  readonly plans: ForwardPlans;
}

/** The forward stage's three kinds of request, planned once per config. */
export interface ForwardPlans {
  readonly toLegacy: ForwardPlan;
  /** a safe request to a service: legacy answers it if the service fails */
  readonly toServiceSafe: ForwardPlan;
  /** a write, or a tester's forced request: the service's answer or failure is the client's */
  readonly toService: ForwardPlan;
}

export function forwardPlans(config: Config, breakers: BreakerBoard): ForwardPlans {
  const { upstreamTimeoutMs: timeoutMs, targetHeader } = config;
  const toLegacy: ForwardPlan = { timeoutMs, targetHeader };
  return {
    toLegacy,
    toServiceSafe: { timeoutMs, targetHeader, outcomes: breakers, fallback: { target: config.legacy, plan: toLegacy } },
    toService: { timeoutMs, targetHeader, outcomes: breakers },
  };
}

/** A stage returns false when it has answered the request itself and the rest must not run. */
export type Stage = (exchange: Exchange, state: ProxyState) => boolean;

const FORCE_HEADER = 'x-strangler-force';
const SECRET_HEADER = 'x-strangler-secret';

/** Testers pick a side with x-strangler-force, honoured only with the right x-strangler-secret.
 *  Both headers are removed either way: no upstream ever sees them. */
export const readTesterOverride: Stage = (exchange, { config }) => {
  const headers = exchange.req.headers;
  const force = headers[FORCE_HEADER];
  const secret = headers[SECRET_HEADER];
  if (force === undefined && secret === undefined) return true;
  delete headers[FORCE_HEADER];
  delete headers[SECRET_HEADER];
  if ((force === 'legacy' || force === 'service') && typeof secret === 'string' && isSecret(secret, config.testers.secret)) {
    exchange.force = force;
  }
  return true;
};

/** The route is decided on the normalised target, and every upstream is sent that same target. */
export const matchRoute: Stage = (exchange, { config, routes }) => {
  const req = exchange.req;
  const target = normalizePath(req.url ?? '/', config.paths);
  if (isPathRejection(target)) {
    respondWithError(exchange.res, buildPathError(target), exchange.id);
    return false;
  }
  req.url = target;
  const found = routes.match(req.method ?? 'GET', target);
  if (found === BAD_REQUEST_TARGET) {
    respondWithError(exchange.res, errors.badRequestTarget(), exchange.id);
    return false;
  }
  exchange.route = found?.route ?? null;
  return true;
};

/** Over a limit: 503 with Retry-After at once, before any upstream is involved. */
export const shedLoad: Stage = (exchange, { config, shedder }) => {
  const reason = shedder.admit(exchange, config);
  if (!reason) return true;
  exchange.shed = reason.kind;
  exchange.res.setHeader('retry-after', String(config.limits.retryAfterS));
  respondWithError(exchange.res, errors.overloaded(reason.detail, config.limits.retryAfterS), exchange.id);
  return false;
};

/**
 * Picks the primary upstream. By the route's stage: legacy and shadow → legacy, cutover → the
 * service, canary → the service when the route's flag is on for this request. A tester's force
 * wins over every stage.
 */
export const decide: Stage = (exchange, state) => {
  chooseUpstream(exchange, state);
  const d = exchange.decision!;
  // a service whose breaker is open is out of the path: legacy answers, whatever the method
  if (d.primary !== LEGACY && d.reason !== 'forced' && !state.breakers.allows(d.primary)) {
    exchange.decision = { primary: LEGACY, target: state.config.legacy, reason: 'breaker-open' };
  }
  return true;
};

function chooseUpstream(exchange: Exchange, { config, flags }: ProxyState): void {
  const route = exchange.route;
  if (!route) {
    exchange.decision = { primary: LEGACY, target: config.legacy, reason: 'unmatched' };
  } else if (exchange.force) {
    const toService = exchange.force === 'service';
    exchange.decision = toService
      ? { primary: route.service, target: config.services[route.service], reason: 'forced' }
      : { primary: LEGACY, target: config.legacy, reason: 'forced' };
  } else if (route.stage === 'legacy' || route.stage === 'shadow') {
    exchange.decision = { primary: LEGACY, target: config.legacy, reason: 'stage' };
  } else if (route.stage === 'cutover') {
    exchange.decision = { primary: route.service, target: config.services[route.service], reason: 'stage' };
  } else if (flags.isEnabled(route.flag, buildContext(exchange.req, config.context))) {
    exchange.decision = { primary: route.service, target: config.services[route.service], reason: 'flag-on' };
  } else {
    exchange.decision = { primary: LEGACY, target: config.legacy, reason: 'flag-off' };
  }
}

/** Shadow (and canary with shadow.reverse): maybe send a copy to the other side for comparison. */
export const copyToCandidate: Stage = (exchange, { config, shadow, redactor }) => {
  if (exchange.route !== null && exchange.route.stage !== 'legacy' && exchange.route.stage !== 'cutover') shadow.plan(exchange, config, redactor);
  return true;
};

/** Routes with `record:` write a sample of what legacy answered to the recording file. */
export const recordTraffic: Stage = (exchange, { config, recorder, redactor }) => {
  if (exchange.route === null || exchange.route.record === 0) return true;
  const tap = recorder.plan(exchange, config, redactor);
  if (tap) exchange.tap = exchange.tap ? chainTaps(exchange.tap, tap) : tap;
  return true;
};

export const forward: Stage = (exchange, { forwarder, plans }) => {
  const decision = exchange.decision!;
  if (decision.primary === LEGACY) forwarder.forward(exchange, plans.toLegacy);
  // a tester who forced the service wants to see its failure, not legacy's answer
  else if (decision.reason !== 'forced' && SAFE_METHODS.has(exchange.req.method ?? 'GET')) forwarder.forward(exchange, plans.toServiceSafe);
  else forwarder.forward(exchange, plans.toService);
  return true;
};

/** The life of a request, in order. */
export const STAGES: readonly Stage[] = [readTesterOverride, matchRoute, shedLoad, decide, copyToCandidate, recordTraffic, forward];

export function runStages(exchange: Exchange, state: ProxyState): void {
  for (let i = 0; i < STAGES.length; i++) {
    if (!STAGES[i](exchange, state)) return;
  }
}

function isSecret(given: string, expected: string): boolean {
  if (expected === '') return false;
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}
