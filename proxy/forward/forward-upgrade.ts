import type http from 'node:http';
import type { Socket } from 'node:net';
import httpProxy from 'http-proxy';
import type { Logger } from 'pino';
import type { Exchange } from '../pipeline/exchange.ts';
import { setForwardedHeaders, type PeerTrust } from './forwarded-headers.ts';
import { REQUEST_ID_HEADER } from './request-id.ts';
import { dropProxyHeaders, stripHopByHop } from './hop-by-hop.ts';
import { classifyTransportError, toUpstreamError, UpstreamTimeoutError } from './upstream-error.ts';

/**
 * Upgraded connections (WebSockets) through http-proxy: the handshake is an HTTP request with the
 * same checks, decision and timeouts as any other, then bytes are piped both ways until either
 * side closes or the connection has been idle for webSocketIdleTimeout.
 *
 * http-proxy copies the client's headers into http.request, which throws synchronously on
 * headers it cannot send (a Trailer without chunking killed the process): the headers are
 * cleaned first and any throw stays this connection's. When the upstream answers without
 * upgrading, http-proxy writes that answer's parsed headers and its decoded body to the raw
 * socket; its framing headers are rewritten to a close-delimited answer first, so a chunked
 * answer is not labelled chunked after http-proxy has de-chunked it.
 */
export interface UpgradePlan {
  readonly timeoutMs: number;
  readonly idleTimeoutMs: number;
  readonly trust: PeerTrust;
}

/** status: 101, the upstream's own answer, or the proxy's 502/504; told once, when the client's socket closes */
export type UpgradeDone = (status: number) => void;

export interface UpgradeForwarder {
  forward(exchange: Exchange, socket: Socket, head: Buffer, plan: UpgradePlan, done: UpgradeDone): void;
  close(): void;
}

interface UpgradeCall {
  status: number;
  plan: UpgradePlan;
  exchange: Exchange;
  upstreamSocket: Socket | null;
}

const CALL = Symbol('strangler upgrade');
type TrackedSocket = Socket & { [CALL]?: UpgradeCall };

export function createUpgradeForwarder(logger: Logger): UpgradeForwarder {
  const proxy = httpProxy.createProxyServer({ ws: true });
  proxy.on('error', () => {});
  // emitted after http-proxy made the upstream request and before it adds its own listeners: ours run first
  proxy.on('proxyReqWs', (proxyReq: http.ClientRequest, _req: http.IncomingMessage, socket: TrackedSocket) => {
    const call = socket[CALL]!;
    proxyReq.setTimeout(call.plan.timeoutMs, () => proxyReq.destroy(new UpstreamTimeoutError('headers', call.plan.timeoutMs)));
    proxyReq.on('response', (res: http.IncomingMessage) => {
      call.status = res.statusCode ?? 502;
      const headers = res.headers;
      stripHopByHop(headers);
      dropProxyHeaders(headers);
      delete headers['content-length'];
      headers.connection = 'close';
    });
    proxyReq.on('upgrade', (res: http.IncomingMessage, upstreamSocket: Socket) => {
      call.status = 101;
      call.upstreamSocket = upstreamSocket;
      dropProxyHeaders(res.headers);
      socket.setTimeout(call.plan.idleTimeoutMs);
    });
  });

  return {
    forward(exchange, socket: TrackedSocket, head, plan, done) {
      const { req } = exchange;
      const target = exchange.decision!.target;
      const call: UpgradeCall = { status: 0, plan, exchange, upstreamSocket: null };
      socket[CALL] = call;
      socket.on('timeout', () => {
        logger.info({ reqId: exchange.id, route: exchange.route?.name ?? null, target: exchange.decision!.primary, idleMs: plan.idleTimeoutMs }, 'upgraded connection idle; closed');
        exchange.rejected = 'websocket-idle';
        socket.destroy();
      });
      socket.once('close', () => {
        call.upstreamSocket?.destroy();
        done(call.status || 499);
      });
      cleanUpgradeHeaders(req);
      setForwardedHeaders(req, plan.trust);
      req.headers[REQUEST_ID_HEADER] = exchange.id;
      try {
        proxy.ws(req, socket, head, { target }, (err: NodeJS.ErrnoException) => {
          if (call.status === 0) {
            const kind = classifyTransportError(err);
            const error = toUpstreamError(kind, err, exchange.decision!.primary, target, plan.timeoutMs);
            call.status = error.statusCode;
            logger.warn({ reqId: exchange.id, route: exchange.route?.name ?? null, target: exchange.decision!.primary, kind, err }, 'upgrade failed');
            const body = JSON.stringify({ error: { code: error.code, message: error.message, reqId: exchange.id } });
            if (socket.writable) socket.write(`HTTP/1.1 ${error.statusCode} ${error.statusCode === 504 ? 'Gateway Timeout' : 'Bad Gateway'}\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\nx-strangler-error: ${error.code}\r\nconnection: close\r\n\r\n${body}`);
          }
          socket.end();
        });
      } catch (err) {
        logger.warn({ reqId: exchange.id, err }, 'upgrade failed');
        socket.destroy();
      }
    },
    close() {
      proxy.close();
    },
  };
}

/** Only the headers of the handshake itself are this hop's to pass: Connection: Upgrade and Upgrade. */
function cleanUpgradeHeaders(req: http.IncomingMessage): void {
  const upgrade = req.headers.upgrade;
  const headers = req.headers;
  stripHopByHop(headers);
  delete headers['content-length'];
  headers.connection = 'upgrade';
  if (upgrade !== undefined) headers.upgrade = upgrade;
}
