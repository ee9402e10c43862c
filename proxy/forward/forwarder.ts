import type http from 'node:http';
import type { Duplex } from 'node:stream';
import httpProxy from 'http-proxy';
import type { Logger } from 'pino';
import { Pool, util, type Dispatcher } from 'undici';
import { LEGACY, type Exchange, type UpstreamCall } from '../pipeline/exchange.ts';
import { isHopByHop, namedByConnection, stripHopByHop } from './hop-by-hop.ts';
import { UpstreamDeadlines, type Deadline } from './upstream-deadlines.ts';
import { classifyTransportError, respondWithError, toUpstreamError, UpstreamTimeoutError, type FallbackCause } from './upstream-error.ts';

/**
 * The only module that talks HTTP to upstreams. Bodies stream both ways; nothing is buffered.
 *
 * Plain requests are dispatched on an undici Pool per upstream origin with a handler of our own
 * (ForwardCall): one object per request, no closures, the answer's raw headers copied once into
 * the client's response. Measured (README, Performance): undici's Pool beats http-proxy with a
 * keep-alive http.Agent by more than 2× in CPU per request, and dispatching directly beats
 * undici's own `pool.stream()` (an AsyncResource, a `finished()` watcher and a parsed header
 * object per request). http-proxy stays the WebSocket-upgrade path.
 */
export interface Forwarder {
  /** sends the request to exchange.decision.target and streams its answer to the client */
  forward(exchange: Exchange, plan: ForwardPlan): void;
  forwardUpgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer, target: URL): void;
  close(): Promise<void>;
}

/** How a kind of request is forwarded. Built once per config, so a request allocates none. */
export interface ForwardPlan {
  readonly timeoutMs: number;
  /** answer with x-strangler-target: <the primary upstream> */
  readonly targetHeader: boolean;
  /** told the service's outcome once per request: false for a 5xx or no answer (the breakers) */
  readonly outcomes?: { record(service: string, ok: boolean): void };
  /**
   * Safe requests only: when the service fails before anything reached the client (no answer,
   * or a 5xx), the request is sent once to this upstream (legacy), with its plan, instead. Never set for writes:
   * a write is never sent twice.
   */
  readonly fallback?: { readonly target: URL; readonly plan: ForwardPlan };
}

/** Connections per upstream origin; enough for bursts, bounded so one route cannot flood a backend. */
const CONNECTIONS_PER_UPSTREAM = 256;

const TARGET_HEADER = 'x-strangler-target';

type ResponseHeaders = Record<string, string | string[] | undefined>;

export function createForwarder(logger: Logger): Forwarder {
  const pools = new Map<string, Pool>();
  const poolFor = (target: URL): Pool => {
    let pool = pools.get(target.origin);
    if (!pool) {
      pool = new Pool(target.origin, { connections: CONNECTIONS_PER_UPSTREAM, pipelining: 1 });
      pools.set(target.origin, pool);
    }
    return pool;
  };
  const deadlines = new UpstreamDeadlines();
  const context: CallContext = {
    logger,
    deadlines,
    send(exchange, plan, hasBody) {
      const { req } = exchange;
      const call = new ForwardCall(exchange, plan, hasBody, context);
      exchange.upstream = call;
      poolFor(exchange.decision!.target).dispatch(
        {
          path: req.url ?? '/',
          method: (req.method ?? 'GET') as Dispatcher.HttpMethod,
          headers: req.headers as Record<string, string>,
          body: hasBody ? (exchange.tap ? exchange.tap.requestBody(req) : req) : null,
          // the timeout is ForwardCall's own (UpstreamDeadlines): no timer object per request
          headersTimeout: 0,
          bodyTimeout: 0,
        },
        call,
      );
    },
  };

  const wsProxy = httpProxy.createProxyServer({ xfwd: true, ws: true });
  wsProxy.on('error', () => {});

  return {
    forward(exchange, plan) {
      const { req } = exchange;
      const headers = req.headers;
      const hasBody = headers['transfer-encoding'] !== undefined || (headers['content-length'] !== undefined && headers['content-length'] !== '0');
      stripHopByHop(headers);
      addForwardedHeaders(req);
      context.send(exchange, plan, hasBody);
    },
    forwardUpgrade(req, socket, head, target) {
      wsProxy.ws(req, socket, head, { target }, (err: NodeJS.ErrnoException) => {
        logger.warn({ target: target.origin, err }, 'websocket upgrade failed');
        socket.destroy();
      });
    },
    async close() {
      deadlines.close();
      wsProxy.close();
      await Promise.all([...pools.values()].map((pool) => pool.destroy()));
    },
  };
}

/** What every ForwardCall of a forwarder shares. */
interface CallContext {
  readonly logger: Logger;
  readonly deadlines: UpstreamDeadlines;
  /** sends a request (again, to legacy, when a service failed a safe one) */
  send(exchange: Exchange, plan: ForwardPlan, hasBody: boolean): void;
}

const CLIENT_GONE = 'the client closed the connection';

/**
 * One request to one upstream, as undici's dispatcher drives it: onConnect, onHeaders, onData…,
 * onComplete, or onError at any point. This is undici's native handler interface (its own
 * request() and stream() are built on it); the newer controller interface is adapted to this
 * one by a wrapper per request, with a parsed header object we do not need.
 */
class ForwardCall implements Dispatcher.DispatchHandler, UpstreamCall, Deadline {
  private abort: ((err?: Error) => void) | null = null;
  /** the upstream was late before undici handed us a way to abort */
  private expired: Error | null = null;
  /** undici is waiting for the answer's headers (else for its body) */
  private awaitingHeaders = true;
  deadlineAt: number;
  deadlinePrev: Deadline | null = null;
  deadlineNext: Deadline | null = null;
  /** the upstream's answer is complete and the tap waits for the client's response to finish */
  private tapOpen = false;
  private settled = false;
  /** the service answered 5xx to a request legacy can answer: its body is read away, then legacy is asked */
  private drainingForFallback = false;
  private cancelled = false;
  private resume: (() => void) | null = null;
  private waitsForDrain = false;

  constructor(
    private readonly exchange: Exchange,
    private readonly plan: ForwardPlan,
    /** a request body has been streamed to the upstream already: it cannot be sent again */
    private readonly hasBody: boolean,
    private readonly context: CallContext,
  ) {
    // upstreamTimeout: the answer's headers within timeoutMs of sending, then no gap in its body longer than that
    this.deadlineAt = context.deadlines.now() + plan.timeoutMs;
    context.deadlines.watch(this);
  }

  onDeadline(): void {
    const err = new UpstreamTimeoutError(this.awaitingHeaders ? 'headers' : 'body', this.plan.timeoutMs);
    if (this.abort) this.abort(err);
    else this.expired = err;
  }

  /** the client went away: stop the upstream request (undici then calls onError) */
  cancel(): void {
    this.cancelled = true;
    if (this.abort) this.abort(new Error(CLIENT_GONE));
    else if (this.tapOpen) {
      // the upstream had finished, the client left before receiving all of it
      this.tapOpen = false;
      this.exchange.tap?.fail(new Error(CLIENT_GONE));
    }
  }

  onConnect(abort: (err?: Error) => void): void {
    this.abort = abort;
    if (this.cancelled) abort(new Error(CLIENT_GONE));
    else if (this.expired) abort(this.expired);
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[], resume: () => void): boolean {
    if (statusCode < 200) return true; // 1xx: Node's server answers the client's own Expect
    const { exchange, plan } = this;
    this.awaitingHeaders = false;
    this.deadlineAt = this.context.deadlines.now() + plan.timeoutMs;
    const res = exchange.res;
    const primary = exchange.decision!.primary;
    this.settle(statusCode < 500);
    if (statusCode >= 500 && this.canFallBack() && !res.destroyed) {
      // nothing has reached the client: read the failed answer away, then ask legacy
      this.drainingForFallback = true;
      return true;
    }
    const headers = responseHeaders(rawHeaders);
    // the tap sees the upstream's answer (by name, as a comparison reads it), not the proxy's own header
    exchange.tap?.head(statusCode, util.parseHeaders(headers) as ResponseHeaders);
    if (plan.targetHeader) headers.push(TARGET_HEADER, primary);
    res.writeHead(statusCode, headers);
    this.resume = resume;
    return true;
  }

  onData(chunk: Buffer): boolean {
    this.deadlineAt = this.context.deadlines.now() + this.plan.timeoutMs;
    if (this.drainingForFallback) return true;
    this.exchange.tap?.chunk(chunk);
    const res = this.exchange.res;
    if (res.write(chunk)) return true;
    // the client reads slower than the upstream sends: undici pauses until the response drains,
    // and a slow client is not a late upstream
    this.deadlineAt = Infinity;
    if (!this.waitsForDrain) {
      this.waitsForDrain = true;
      res.on('drain', () => {
        this.deadlineAt = this.context.deadlines.now() + this.plan.timeoutMs;
        this.resume!();
      });
    }
    return false;
  }

  onComplete(): void {
    this.abort = null;
    this.context.deadlines.unwatch(this);
    if (this.drainingForFallback) {
      if (!this.exchange.res.destroyed) this.answerFromLegacy(`${this.exchange.decision!.primary} answered 5xx`, '5xx');
      return;
    }
    const { res, tap } = this.exchange;
    if (!tap) {
      res.end();
      return;
    }
    // the tap hears of the end once the client has the whole answer (or of a failure, if it left)
    this.tapOpen = true;
    res.end(() => this.closeTap());
  }

  /** the response finished: the tap may compare */
  private closeTap(): void {
    if (!this.tapOpen) return;
    this.tapOpen = false;
    this.exchange.tap?.end();
  }

  onError(err: Error): void {
    this.abort = null;
    this.context.deadlines.unwatch(this);
    const { exchange, plan } = this;
    const { logger } = this.context;
    const { res } = exchange;
    const primary = exchange.decision!.primary;
    if (this.drainingForFallback) {
      // the 5xx's body failed too: legacy answers all the same
      if (!res.destroyed) this.answerFromLegacy(`${primary} answered 5xx`, '5xx');
      return;
    }
    this.settle(false);
    const kind = classifyTransportError(err as NodeJS.ErrnoException);
    if (this.canFallBack() && !res.headersSent && !res.destroyed && !this.cancelled) {
      this.answerFromLegacy(`${primary}: ${(err as NodeJS.ErrnoException).code ?? err.message}`, kind);
      return;
    }
    exchange.tap?.fail(err);
    if (this.cancelled || (res.destroyed && !res.writableFinished)) return; // the client went away first
    exchange.failure = kind;
    logger.warn({ reqId: exchange.id, route: exchange.route?.name ?? null, target: primary, kind, err }, 'upstream failed');
    if (plan.targetHeader && !res.headersSent) res.setHeader(TARGET_HEADER, primary);
    respondWithError(res, toUpstreamError(kind, err, primary, exchange.decision!.target, plan.timeoutMs), exchange.id);
  }

  private canFallBack(): boolean {
    return !this.hasBody && this.plan.fallback !== undefined;
  }

  private settle(ok: boolean): void {
    if (this.settled) return;
    this.settled = true;
    const { outcomes } = this.plan;
    if (outcomes) outcomes.record(this.exchange.decision!.primary, ok);
  }

  private answerFromLegacy(why: string, cause: FallbackCause): void {
    const { exchange, plan } = this;
    const primary = exchange.decision!.primary;
    exchange.tap?.fail(new Error(`fell back to legacy: ${why}`));
    exchange.tap = undefined;
    this.context.logger.warn({ reqId: exchange.id, route: exchange.route?.name ?? null, target: primary, why }, 'service failed; the safe request is answered by legacy');
    exchange.fellBack = { service: primary, cause };
    const fallback = plan.fallback!;
    exchange.decision = { primary: LEGACY, target: fallback.target, reason: 'fallback' };
    this.context.send(exchange, fallback.plan, this.hasBody);
  }
}

/**
 * The upstream's header lines as the client gets them: names and values as sent, minus the
 * hop-by-hop ones (and those the upstream's Connection header names). A flat [name, value, …] list, which Node's writeHead takes without building an object.
 */
function responseHeaders(raw: Buffer[]): string[] {
  const out: string[] = [];
  let connection: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i].toString('latin1');
    const lower = name.toLowerCase();
    if (isHopByHop(lower)) {
      if (lower === 'connection') connection = raw[i + 1].toString('latin1');
      continue;
    }
    out.push(name, raw[i + 1].toString('latin1'));
  }
  const named = namedByConnection(connection);
  if (named.length === 0) return out;
  // rare: Connection: x-foo marks x-foo as this hop's own too
  const filtered: string[] = [];
  for (let i = 0; i < out.length; i += 2) if (!named.includes(out[i].toLowerCase())) filtered.push(out[i], out[i + 1]);
  return filtered;
}

/** X-Forwarded-For/-Proto/-Host/-Port, appending to what an earlier proxy set. */
function addForwardedHeaders(req: http.IncomingMessage): void {
  const headers = req.headers;
  const address = req.socket.remoteAddress ?? '';
  const prior = headers['x-forwarded-for'];
  headers['x-forwarded-for'] = prior ? `${prior}, ${address}` : address;
  headers['x-forwarded-proto'] ??= (req.socket as { encrypted?: boolean }).encrypted ? 'https' : 'http';
  headers['x-forwarded-host'] ??= headers.host ?? '';
  headers['x-forwarded-port'] ??= String(req.socket.localPort ?? '');
}
