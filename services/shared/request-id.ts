import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/**
 * The id one request carries across processes: the proxy sends it to legacy and to the services
 * in `x-request-id`, and each side logs it, so a request's proxy line, service line and PHP
 * error-log line can be joined. Shared by every service (and the ones `strangler extract`
 * generates) so they all honour it the same way.
 */

/** The header the id travels in, as the proxy and legacy name it. */
export const REQUEST_ID_HEADER = 'x-request-id';

/**
 * An id taken from a peer: token characters only, bounded, so a client cannot forge a log line
 * or bloat every line of its request. Anything else gets an id of our own.
 */
const ACCEPTED_REQUEST_ID = /^[A-Za-z0-9._:@-]{1,128}$/;

/** 16 lowercase hex chars, like the demo legacy's own ids. */
export function generateRequestId(): string {
  return randomBytes(8).toString('hex');
}

/** Fastify's genReqId: the incoming x-request-id when it is one we accept, else a new id. */
export function readRequestId(req: IncomingMessage): string {
  const incoming = req.headers[REQUEST_ID_HEADER];
  return typeof incoming === 'string' && ACCEPTED_REQUEST_ID.test(incoming) ? incoming : generateRequestId();
}
