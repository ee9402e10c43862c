import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RouteConfig } from '../config/schema.ts';
import type { UpstreamFailureKind } from '../forward/upstream-error.ts';

export const LEGACY = 'legacy';

export type DecisionReason = 'unmatched' | 'flag-off' | 'flag-on' | 'forced';

/** Which upstream answers this request, and why. */
export interface Decision {
  /** 'legacy' or the name of a service: the upstream whose answer the client gets */
  primary: string;
  target: URL;
  reason: DecisionReason;
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
}

export function createExchange(id: string, req: IncomingMessage, res: ServerResponse, startedAt: number): Exchange {
  return { id, req, res, startedAt, route: null, force: undefined, decision: undefined, failure: undefined };
}
