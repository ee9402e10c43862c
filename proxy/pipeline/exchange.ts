import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Readable, Writable } from 'node:stream';
import type { RouteConfig } from '../config/schema.ts';
import type { FallbackCause, UpstreamFailureKind } from '../forward/upstream-error.ts';

export const LEGACY = 'legacy';

/**
 * unmatched: no route; stage: the route's stage alone decides (legacy, shadow, cutover);
 * breaker-open: the service's circuit breaker is open, legacy answers; fallback: the service
 * failed a safe request before answering, legacy answered it instead.
 */
export type DecisionReason = 'unmatched' | 'stage' | 'flag-off' | 'flag-on' | 'forced' | 'breaker-open' | 'fallback';

/** Which upstream answers this request, and why. */
export interface Decision {
  /** 'legacy' or the name of a service: the upstream whose answer the client gets */
  primary: string;
  target: URL;
  reason: DecisionReason;
}

/**
 * Set when the request is copied to a second upstream: the forwarder streams the primary's
 * answer through it so the answer can be compared once the client has it.
 */
export interface PrimaryTap {
  /** the stream the forwarder sends as the primary's request body; it also keeps a copy */
  requestBody(source: Readable): Readable;
  /** the writable the primary's body goes into; it writes on to `next` (the client's response) */
  tee(next: Writable, status: number, headers: Record<string, string | string[] | undefined>): Writable;
  /** the primary gave no (complete) answer: nothing to compare */
  fail(err: unknown): void;
}

/** Two taps on one request (a copy and a recording): the body passes through both. */
export function chainTaps(first: PrimaryTap, second: PrimaryTap): PrimaryTap {
  return {
    requestBody: (source) => second.requestBody(first.requestBody(source)),
    tee: (next, status, headers) => first.tee(second.tee(next, status, headers), status, headers),
    fail(err) {
      first.fail(err);
      second.fail(err);
    },
  };
}

/** Per-request state, passed through the stages in order. */
export interface Exchange {
  readonly id: string;
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  /** performance.now() when the request arrived */
  readonly startedAt: number;
  route: RouteConfig | null;
  /** side a tester forced with a valid secret */
  force: 'legacy' | 'service' | undefined;
  decision: Decision | undefined;
  /** set when the upstream could not answer */
  failure: UpstreamFailureKind | undefined;
  /** set by the copy stage when this request is also sent to the other side */
  tap: PrimaryTap | undefined;
  /** set when the request was shed (answered 503 by the proxy itself) */
  shed: string | undefined;
  /** set when a service failed this safe request before legacy answered it (decision reason fallback) */
  fellBack: { service: string; cause: FallbackCause } | undefined;
  /** set by the load shedder while the request counts against its limits */
  admitted: true | { inFlight: number } | undefined;
  /** the request to the upstream, while the forwarder has one */
  upstream: UpstreamCall | undefined;
}

/** What the server can ask of a request in flight to an upstream. */
export interface UpstreamCall {
  /** the client went away: stop asking the upstream */
  cancel(): void;
}

export function createExchange(id: string, req: IncomingMessage, res: ServerResponse, startedAt: number): Exchange {
  return { id, req, res, startedAt, route: null, force: undefined, decision: undefined, failure: undefined, tap: undefined, shed: undefined, fellBack: undefined, admitted: undefined, upstream: undefined };
}
