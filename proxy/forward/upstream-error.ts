import { STATUS_CODES, type ServerResponse } from 'node:http';
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

/**
 * Answers with the error as JSON, or as a short HTML page when the client's Accept prefers
 * text/html to JSON (a browser's navigation: a page it can show instead of raw JSON); or cuts the
 * connection when the answer had already begun.
 */
export function respondWithError(res: ServerResponse, error: StranglerError, reqId: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const html = prefersHtml(res.req?.headers.accept);
  const body = html ? errorPage(error, reqId) : JSON.stringify({ error: { code: error.code, message: error.message, reqId } });
  res.writeHead(error.statusCode, {
    'content-type': html ? 'text/html; charset=utf-8' : 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
    vary: 'accept',
    'x-strangler-error': error.code,
  });
  res.end(body);
}

function errorPage(error: StranglerError, reqId: string): string {
  const title = escapeHtml(`${error.statusCode} ${STATUS_CODES[error.statusCode] ?? 'Error'}`);
  return (
    `<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width"><title>${title}</title></head>\n` +
    `<body><h1>${title}</h1>\n<p>${escapeHtml(error.message)}</p>\n` +
    `<p>Request id: <code>${escapeHtml(reqId)}</code> · <code>${escapeHtml(error.code)}</code></p></body></html>\n`
  );
}

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]);
}

/**
 * Whether Accept ranks text/html above application/json (RFC 9110 §12.5.1: the most specific
 * range that matches a type gives its q). A tie (an Accept of any type) or no Accept: JSON, as before.
 */
export function prefersHtml(accept: string | undefined): boolean {
  if (accept === undefined || !accept.includes('html')) return false;
  let html = 0;
  let htmlRank = 0;
  let json = 0;
  let jsonRank = 0;
  for (const part of accept.split(',')) {
    const semicolon = part.indexOf(';');
    const range = (semicolon < 0 ? part : part.slice(0, semicolon)).trim().toLowerCase();
    const forHtml = range === 'text/html' ? 3 : range === 'text/*' ? 2 : range === '*/*' ? 1 : 0;
    const forJson = range === 'application/json' ? 3 : range === 'application/*' ? 2 : range === '*/*' ? 1 : 0;
    if (forHtml === 0 && forJson === 0) continue;
    const q = semicolon < 0 ? 1 : qualityOf(part.slice(semicolon + 1));
    if (forHtml > htmlRank) [html, htmlRank] = [q, forHtml];
    if (forJson > jsonRank) [json, jsonRank] = [q, forJson];
  }
  return html > json;
}

function qualityOf(params: string): number {
  const m = /(?:^|;)\s*q\s*=\s*([0-9.]+)/i.exec(params);
  if (!m) return 1;
  const q = Number(m[1]);
  return q >= 0 && q <= 1 ? q : 0;
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
