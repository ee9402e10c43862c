import type { ServerResponse } from 'node:http';
import { errors, type StranglerError } from '../errors.ts';

export type UpstreamFailureKind = 'timeout' | 'refused' | 'reset' | 'dns' | 'other';

/** Why a service failed a safe request that legacy then answered: it answered a 5xx, or its transport failed. */
export type FallbackCause = UpstreamFailureKind | '5xx';

/** The upstream did not send its answer's headers, or the next part of its body, within upstreamTimeout. */
export class UpstreamTimeoutError extends Error {
  readonly code = 'UPSTREAM_TIMEOUT';

  constructor(phase: 'headers' | 'body', timeoutMs: number) {
    super(phase === 'headers' ? `no answer within ${timeoutMs} ms` : `the answer's body stalled for more than ${timeoutMs} ms`);
    this.name = 'UpstreamTimeoutError';
  }
}

export function classifyTransportError(err: NodeJS.ErrnoException): UpstreamFailureKind {
  switch (err.code) {
    case 'UPSTREAM_TIMEOUT': // our own deadline (upstream-deadlines.ts); undici's are off
    case 'UND_ERR_CONNECT_TIMEOUT':
    case 'ETIMEDOUT':
      return 'timeout';
    case 'ECONNREFUSED':
      return 'refused';
    case 'ECONNRESET':
    case 'EPIPE':
    case 'UND_ERR_SOCKET':
    case 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH':
      return 'reset';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'dns';
    default:
      return 'other';
  }
}

/** The one place a transport failure becomes what the client sees: 504 for silence, 502 otherwise. */
export function toUpstreamError(kind: UpstreamFailureKind, err: unknown, upstream: string, target: URL, timeoutMs: number): StranglerError {
  return kind === 'timeout' ? errors.upstreamTimeout(upstream, target.origin, timeoutMs) : errors.upstreamUnreachable(upstream, target.origin, err);
}

/** Answers with the error as JSON, or cuts the connection when the answer had already begun. */
export function respondWithError(res: ServerResponse, error: StranglerError, reqId: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = JSON.stringify({ error: { code: error.code, message: error.message, reqId } });
  res.writeHead(error.statusCode, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
    'x-strangler-error': error.code,
  });
  res.end(body);
}

/** What a client did wrong while its request was with an upstream (a RejectReason each). */
export type ClientFault = 'body-timeout' | 'body-too-large' | 'send-timeout';

/**
 * The client, not the upstream, broke a limit: its request body stalled or outgrew
 * limits.maxRequestBody, or it stopped reading its answer. Never counts against an upstream.
 */
export class ClientFaultError extends Error {
  readonly code = 'CLIENT_FAULT';

  constructor(
    readonly fault: ClientFault,
    detail: string,
  ) {
    super(detail);
    this.name = 'ClientFaultError';
  }
}
