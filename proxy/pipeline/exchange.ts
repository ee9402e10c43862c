import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import type { RouteConfig } from '../config/schema.ts';
import type { FallbackCause, UpstreamFailureKind } from '../forward/upstream-error.ts';
import type { RejectReason } from '../metrics/proxy-metrics.ts';

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
 * Set when the request is copied to a second upstream or recorded: the forwarder shows it the
 * primary's answer as it streams to the client, so the answer can be compared once the client
 * has it. Exactly one of end() and fail() is called.
 */
export interface PrimaryTap {
  /** the stream the forwarder sends as the primary's request body; it also keeps a copy */
  requestBody(source: Readable): Readable;
  /** the primary's answer began: its status and headers by (lower-case) name, hop-by-hop ones removed */
  head(status: number, headers: Record<string, string | string[] | undefined>): void;
  /** a chunk of the primary's body, as it is written to the client */
  chunk(chunk: Buffer): void;
  /** the client's response has finished: the whole answer went out */
  end(): void;
  /** the primary gave no (complete) answer, or the client left: nothing to compare */
  fail(err: unknown): void;
}

/** Two taps on one request (a copy and a recording): the body passes through both. */
export function chainTaps(first: PrimaryTap, second: PrimaryTap): PrimaryTap {
  return {
    requestBody: (source) => second.requestBody(first.requestBody(source)),
    head(status, headers) {
      first.head(status, headers);
      second.head(status, headers);
    },
    chunk(chunk) {
      first.chunk(chunk);
      second.chunk(chunk);
    },
    end() {
      first.end();
      second.end();
    },
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
  /** set when the proxy refused the request itself (a check or a client-side limit) */
  rejected: RejectReason | undefined;
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
  return { id, req, res, startedAt, route: null, force: undefined, decision: undefined, failure: undefined, tap: undefined, shed: undefined, fellBack: undefined, rejected: undefined, admitted: undefined, upstream: undefined };
}
