/**
 * The bench's rows: what each measures and how it is reached. Shared by `npm run bench` and
 * `npm run bench:instructions`, so both name and set up a row the same way.
 */

export const SERVICE = 'rooms';
export const ROOM_PATH = '/api/rooms/42';

/** the process a row's load goes to */
export type Via = 'upstream' | 'nginx' | 'floor' | 'peerHttpProxy' | 'peerFastify' | 'proxy' | 'proxyInfo' | 'proxyWorkers' | 'proxyShadow';

export interface Row {
  key: string;
  label: string;
  via: Via;
  path: string;
  /** x-strangler-target the proxy must answer with, checked before measuring */
  expect?: string;
}

export const ROWS: readonly Row[] = [
  { key: 'direct', label: 'direct (upstream, no proxy)', via: 'upstream', path: ROOM_PATH },
  { key: 'nginx', label: 'nginx (1 worker, upstream keep-alive, no log)', via: 'nginx', path: ROOM_PATH },
  { key: 'node-floor', label: 'Node floor: node:http + undici Pool, nothing else (reference)', via: 'floor', path: ROOM_PATH },
  { key: 'http-proxy', label: 'Node peer: http-proxy + keep-alive agent (reference)', via: 'peerHttpProxy', path: ROOM_PATH },
  { key: 'fastify-http-proxy', label: 'Node peer: @fastify/http-proxy (undici) (reference)', via: 'peerFastify', path: ROOM_PATH },
  { key: 'unmatched', label: 'proxy unmatched → legacy (log warn)', via: 'proxy', path: '/api/bookings/42', expect: 'legacy' },
  { key: 'flag-on', label: 'proxy matched, flag on → service (log warn)', via: 'proxy', path: ROOM_PATH, expect: SERVICE },
  { key: 'access-log', label: 'proxy matched, flag on → service (log info → /dev/null)', via: 'proxyInfo', path: ROOM_PATH, expect: SERVICE },
  { key: 'shadow', label: 'proxy shadow: legacy answers, copy to service + compare (sample 100 %, log warn)', via: 'proxyShadow', path: ROOM_PATH, expect: 'legacy' },
  { key: 'workers-2', label: 'proxy --workers 2, matched, flag on (log warn)', via: 'proxyWorkers', path: ROOM_PATH, expect: SERVICE },
];
