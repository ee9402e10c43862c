import type { ServerResponse } from 'node:http';
import { errors, type StranglerError } from '../errors.ts';

/** Marks the error we raise ourselves when an upstream stays silent past its timeout. */
export const TIMEOUT_CODE = 'STRANGLER_UPSTREAM_SILENT';

export type UpstreamFailureKind = 'timeout' | 'refused' | 'reset' | 'dns' | 'other';

export function classifyTransportError(err: NodeJS.ErrnoException): UpstreamFailureKind {
  switch (err.code) {
    case TIMEOUT_CODE:
      return 'timeout';
    case 'ECONNREFUSED':
      return 'refused';
    case 'ECONNRESET':
    case 'EPIPE':
      return 'reset';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'dns';
    default:
      return 'other';
  }
}

/** The one place a transport failure becomes what the client sees: 504 for silence, 502 otherwise. */
export function toUpstreamError(err: NodeJS.ErrnoException, upstream: string, target: URL, timeoutMs: number): StranglerError {
  return classifyTransportError(err) === 'timeout'
    ? errors.upstreamTimeout(upstream, target.origin, timeoutMs)
    : errors.upstreamUnreachable(upstream, target.origin, err);
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
