import { timingSafeEqual } from 'node:crypto';
import type { Config } from '../config/schema.ts';
import { errors } from '../errors.ts';
import { buildContext } from '../flags/build-context.ts';
import type { FlagSource } from '../flags/flag-source.ts';
import type { ForwardPlan, Forwarder } from '../forward/forwarder.ts';
import { respondWithError } from '../forward/upstream-error.ts';
import { BAD_REQUEST_TARGET, UNREADABLE_QUERY, type RouteTable } from '../routing/route-table.ts';
import { buildPathError, isPathRejection, normalizePath } from '../routing/normalize-path.ts';
import type { Redactor } from '../parity/redact.ts';
import type { TrafficRecorder } from '../record/traffic-recorder.ts';
import type { ShadowRunner } from '../shadow/shadow-runner.ts';
import type { BreakerBoard } from '../safety/circuit-breaker.ts';
import type { LoadShedder } from '../safety/load-shedder.ts';
import { SAFE_METHODS } from '../config/schema.ts';
import type { PeerTrust } from '../forward/forwarded-headers.ts';
import type { RedirectRewrites } from '../forward/rewrite-redirects.ts';
import { hasRequestBody } from '../forward/hop-by-hop.ts';
import { closeAfterAnswer } from '../forward/lingering-close.ts';
import { readTargetForm } from '../routing/request-target.ts';
import type { RejectReason } from '../metrics/proxy-metrics.ts';
import type { StranglerError } from '../errors.ts';
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
  /** whose X-Forwarded-* headers are believed (config.forwarded.trust) */
  readonly trust: PeerTrust;
  /** each upstream's own origin, for its redirects (config.redirects) */
  readonly redirects: RedirectRewrites;
}

/** The forward stage's three kinds of request, planned once per config. */
export interface ForwardPlans {
  readonly toLegacy: ForwardPlan;
  /** a safe request to a service: legacy answers it if the service fails */
  readonly toServiceSafe: ForwardPlan;
  /** a write, or a tester's forced request: the service's answer or failure is the client's */
  readonly toService: ForwardPlan;
}

export function forwardPlans(config: Config, breakers: BreakerBoard, trust: PeerTrust, redirects: RedirectRewrites): ForwardPlans {
  const { upstreamTimeoutMs: timeoutMs, targetHeader, limits } = config;
  const base = { timeoutMs, targetHeader, trust, redirects, bodyTimeoutMs: limits.bodyTimeoutMs, maxRequestBody: limits.maxRequestBody, sendTimeoutMs: limits.sendTimeoutMs, responseBuffer: limits.responseBuffer };
  const toLegacy: ForwardPlan = base;
  return {
    toLegacy,
    toServiceSafe: { ...base, outcomes: breakers, fallback: { target: config.legacy, plan: toLegacy } },
    toService: { ...base, outcomes: breakers },
  };
}

/** A stage returns false when it has answered the request itself and the rest must not run. */
export type Stage = (exchange: Exchange, state: ProxyState) => boolean;

/** The proxy answers the request itself with a client error, counted by reason. */
function reject(exchange: Exchange, reason: RejectReason, error: StranglerError): false {
  exchange.rejected = reason;
  // a body nobody will read is not read on: the connection closes after the answer
  if (hasRequestBody(exchange.req.headers)) closeAfterAnswer(exchange.res);
  respondWithError(exchange.res, error, exchange.id);
  return false;
}

/** A Content-Length over limits.maxRequestBody (0: no limit); a chunked body is counted as it streams (forwarder). */
export function isOverBodyLimit(req: Exchange['req'], max: number): boolean {
  const length = req.headers['content-length'];
  return length !== undefined && max > 0 && Number(length) > max;
}

const FORCE_HEADER = 'x-strangler-force';
const SECRET_HEADER = 'x-strangler-secret';
const ALLOW_ALL = 'GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS';
const STRANGLER_PREFIX = 'x-strangler-';

/**
 * What a client may not send, refused or removed before anything else looks at the request:
 * a target that is not origin-form (converted or refused, see request-target.ts), one longer
 * than limits.maxTargetLength, two Host headers (RFC 9112 §3.2: 400), and any x-strangler-*
 * header but a tester's force and secret (the proxy's own markers, e.g. x-strangler-copy,
 * must not be forgeable). One pass over the raw header names; nothing is allocated when there
 * is nothing to remove.
 */
export const checkRequest: Stage = (exchange, { config }) => {
  const req = exchange.req;
  const url = req.url!;
  if (url.length > config.limits.maxTargetLength) return reject(exchange, 'target-too-long', errors.requestTargetTooLong(url.length, config.limits.maxTargetLength));
  if (url.charCodeAt(0) !== 47 /* / */) {
    const form = readTargetForm(req.method!, url);
    if (form.kind === 'asterisk') {
      // OPTIONS * asks about the server as a whole: the proxy answers for every upstream
      if (hasRequestBody(req.headers)) closeAfterAnswer(exchange.res);
      exchange.res.writeHead(200, { allow: ALLOW_ALL, 'content-length': '0' });
      exchange.res.end();
      return false;
    }
    if (form.kind !== 'absolute') return reject(exchange, 'bad-target', errors.badRequestTarget());
    req.url = form.url;
    req.headers.host = form.host;
  }
  const raw = req.rawHeaders;
  let hosts = 0;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i];
    if (name.length === 4) {
      if ((name.charCodeAt(0) | 32) === 104 /* h */ && name.toLowerCase() === 'host') hosts++;
    } else if (name.length > STRANGLER_PREFIX.length && (name.charCodeAt(0) | 32) === 120 /* x */ && name.charCodeAt(1) === 45 /* - */) {
      const lower = name.toLowerCase();
      if (lower.startsWith(STRANGLER_PREFIX) && lower !== FORCE_HEADER && lower !== SECRET_HEADER) delete req.headers[lower];
    }
  }
  if (hosts > 1) return reject(exchange, 'duplicate-host', errors.duplicateHost());
  if (isOverBodyLimit(req, config.limits.maxRequestBody)) return reject(exchange, 'body-too-large', errors.requestBodyTooLarge(config.limits.maxRequestBody));
  return true;
};


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
  if (isPathRejection(target)) return reject(exchange, 'bad-target', buildPathError(target));
  req.url = target;
  const found = routes.match(req.method ?? 'GET', target);
  if (found === BAD_REQUEST_TARGET) return reject(exchange, 'bad-target', errors.badRequestTarget());
  if (found === UNREADABLE_QUERY) return reject(exchange, 'bad-target', errors.unreadableQuery());
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
export const copyToCandidate: Stage = (exchange, { config, shadow, redactor, redirects }) => {
  if (exchange.route !== null && exchange.route.stage !== 'legacy' && exchange.route.stage !== 'cutover') shadow.plan(exchange, config, redactor, redirects);
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
export const STAGES: readonly Stage[] = [checkRequest, readTesterOverride, matchRoute, shedLoad, decide, copyToCandidate, recordTraffic, forward];

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
