import type http from 'node:http';
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import { Client, Pool, util, type Dispatcher } from 'undici';
import { LEGACY, type Exchange, type UpstreamCall } from '../pipeline/exchange.ts';
import { performance } from 'node:perf_hooks';
import { errors } from '../errors.ts';
import { SAFE_METHODS } from '../config/schema.ts';
import { createUpgradeForwarder, type UpgradeDone, type UpgradePlan } from './forward-upgrade.ts';
import { setForwardedHeaders, type PeerTrust } from './forwarded-headers.ts';
import { hasRequestBody, isHopByHop, namedByConnection, stripHopByHop } from './hop-by-hop.ts';
import { closeAfterAnswer } from './lingering-close.ts';
import { REQUEST_ID_HEADER } from './request-id.ts';
import { isRedirectHeader, rewriteRedirectHeader, type RedirectRewrites } from './rewrite-redirects.ts';
import { UpstreamDeadlines, type Deadline } from './upstream-deadlines.ts';
import { ClientFaultError, classifyTransportError, respondWithError, toUpstreamError, UpstreamTimeoutError, type FallbackCause } from './upstream-error.ts';

/**
 * The only module that talks HTTP to upstreams. Bodies stream both ways; nothing is buffered.
 *
 * Plain requests are dispatched on an undici Pool per upstream origin with a handler of our own
 * (ForwardCall): one object per request, no closures, the answer's raw headers copied once into
 * the client's response. Measured (README, Performance): undici's Pool beats http-proxy with a
 * keep-alive http.Agent by more than 2× in CPU per request, and dispatching directly beats
 * undici's own `pool.stream()` (an AsyncResource, a `finished()` watcher and a parsed header
 * object per request). http-proxy stays the WebSocket-upgrade path (forward-upgrade.ts).
 */
export interface Forwarder {
  /** sends the request to exchange.decision.target and streams its answer to the client */
  forward(exchange: Exchange, plan: ForwardPlan): void;
  /** an upgrade request (WebSocket handshake) to exchange.decision.target, then bytes both ways */
  forwardUpgrade(exchange: Exchange, socket: Socket, head: Buffer, plan: UpgradePlan, done: UpgradeDone): void;
  close(): Promise<void>;
}

/** How a kind of request is forwarded. Built once per config, so a request allocates none. */
export interface ForwardPlan {
  /** the upstream's timeout: waiting for a free connection, then for the answer's headers once the request is sent, then between body parts */
  readonly timeoutMs: number;
  /** limits.bodyTimeout: the longest gap in the client's request body */
  readonly bodyTimeoutMs: number;
  /** limits.sendTimeout: the longest a client may take no bytes while its answer waits */
  readonly sendTimeoutMs: number;
  /** limits.maxRequestBody: a request body over this is cut (413); 0 = no limit */
  readonly maxRequestBody: number;
  /** limits.responseBuffer: answer bytes held for a slow client before the upstream is paused */
  readonly responseBuffer: number;
  /** answer with x-strangler-target: <the primary upstream> */
  readonly targetHeader: boolean;
  /** whose X-Forwarded-* headers are believed */
  readonly trust: PeerTrust;
  /** by upstream: its redirects to its own origin, given the client's (rewrite-redirects.ts) */
  readonly redirects: RedirectRewrites;
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
  /** retries' own connections, while they are in flight */
  const ownClients = new Set<Client>();
  const context: CallContext = {
    logger,
    deadlines,
    ownClients,
    send(exchange, plan, hasBody, attempt = 0) {
      const { req } = exchange;
      const call = new ForwardCall(exchange, plan, hasBody, context, attempt);
      exchange.upstream = call;
      // a retry goes on a connection of its own: the pool's other idle ones may be closing too
      let dispatcher: Dispatcher = poolFor(exchange.decision!.target);
      if (attempt > 0) {
        dispatcher = call.ownClient = new Client(exchange.decision!.target.origin);
        ownClients.add(call.ownClient);
      }
      try {
        // dispatch's false means "queued behind busy connections", not refused: the deadline bounds the wait
        dispatcher.dispatch(
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
      } catch (err) {
        // undici refused the request itself: it stays this request's failure, never the process's
        call.onError(err as Error);
      }
    },
  };

  const upgrades = createUpgradeForwarder(logger);

  return {
    forward(exchange, plan) {
      const { req } = exchange;
      const headers = req.headers;
      const hasBody = hasRequestBody(headers);
      stripHopByHop(headers);
      setForwardedHeaders(req, plan.trust);
      headers[REQUEST_ID_HEADER] = exchange.id;
      context.send(exchange, plan, hasBody);
    },
    forwardUpgrade: upgrades.forward,
    async close() {
      deadlines.close();
      upgrades.close();
      await Promise.all([...pools.values(), ...ownClients].map((dispatcher) => dispatcher.destroy()));
    },
  };
}

/** What every ForwardCall of a forwarder shares. */
interface CallContext {
  readonly logger: Logger;
  readonly deadlines: UpstreamDeadlines;
  readonly ownClients: Set<Client>;
  /** sends a request (again, to legacy, when a service failed a safe one; or once more on a fresh connection) */
  send(exchange: Exchange, plan: ForwardPlan, hasBody: boolean, attempt?: number): void;
}

const CLIENT_GONE = 'the client closed the connection';

/**
 * Where a request to an upstream stands, for its one deadline: waiting for a free connection,
 * streaming the client's body, waiting for the answer's headers, reading its body, or waiting
 * for the client to take what was sent. Each phase has its own timeout and its own culprit:
 * only 'headers' and 'body' are the upstream's.
 */
type Phase = 'queued' | 'request-body' | 'headers' | 'body' | 'client';

/**
 * One request to one upstream, as undici's dispatcher drives it: onConnect, onBodySent…,
 * onRequestSent, onHeaders, onData…, onComplete, or onError at any point. This is undici's
 * native handler interface (its own request() and stream() are built on it); the newer
 * controller interface is adapted to this one by a wrapper per request, with a parsed header
 * object we do not need.
 */
class ForwardCall implements Dispatcher.DispatchHandler, UpstreamCall, Deadline {
  private abort: ((err?: Error) => void) | null = null;
  private phase: Phase = 'queued';
  /** the client was answered while the request still waited for a connection: it must never be sent */
  private answeredWhileQueued = false;
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
  /** request body bytes sent so far */
  private bodyBytes = 0;
  /** the retry's own connection, closed once the call is over */
  ownClient: Client | null = null;

  constructor(
    private readonly exchange: Exchange,
    private readonly plan: ForwardPlan,
    /** a request body has been streamed to the upstream already: it cannot be sent again */
    private readonly hasBody: boolean,
    private readonly context: CallContext,
    /** 1 when this is the retry of a safe request whose reused connection was closed under it */
    private readonly attempt: number,
  ) {
    // every deadline counts from a fresh clock read, never from the sweep's last tick
    this.deadlineAt = performance.now() + plan.timeoutMs;
    context.deadlines.watch(this);
  }

  onDeadline(): void {
    const { plan } = this;
    switch (this.phase) {
      case 'queued':
        // nothing was sent: the client hears so at once, and the request is dropped when undici reaches it
        this.answeredWhileQueued = true;
        this.answerBusy();
        return;
      case 'request-body':
        this.abort!(new ClientFaultError('body-timeout', `the request body stalled for more than ${plan.bodyTimeoutMs} ms`));
        return;
      case 'client':
        this.abort!(new ClientFaultError('send-timeout', `the client read nothing of its answer for ${plan.sendTimeoutMs} ms`));
        return;
      default:
        this.abort!(new UpstreamTimeoutError(this.phase === 'headers' ? 'headers' : 'body', plan.timeoutMs));
    }
  }

  /** the client went away: stop the upstream request (undici then calls onError) */
  cancel(): void {
    this.cancelled = true;
    // still queued: nothing to time any more; undici drops the request when it reaches it (onConnect)
    if (this.phase === 'queued') this.context.deadlines.unwatch(this);
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
    else if (this.answeredWhileQueued) abort(new Error('the client was answered while the request waited for a connection'));
    else if (this.hasBody) this.restart('request-body', this.plan.bodyTimeoutMs);
    else this.restart('headers', this.plan.timeoutMs);
  }

  /** a part of the client's body went to the upstream: the client is not stalled, unless it sends too much */
  onBodySent(chunk: Buffer | string | number): void {
    if (this.phase !== 'request-body') return;
    this.deadlineAt = performance.now() + this.plan.bodyTimeoutMs;
    // undici 7 passes the chunk itself (lib/core/request.js), its typings still say its size
    this.bodyBytes += typeof chunk === 'number' ? chunk : chunk.length;
    const max = this.plan.maxRequestBody;
    // a body without Content-Length (chunked) is counted as it streams; one with it was checked on arrival
    if (max > 0 && this.bodyBytes > max) this.abort!(new ClientFaultError('body-too-large', `the request body is over ${max} bytes`));
  }

  /** the whole request is with the upstream: its own timeout starts now */
  onRequestSent(): void {
    if (this.phase === 'request-body') this.restart('headers', this.plan.timeoutMs);
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[], resume: () => void): boolean {
    if (statusCode < 200) return true; // 1xx: Node's server answers the client's own Expect
    const { exchange, plan } = this;
    this.restart('body', plan.timeoutMs);
    const res = exchange.res;
    const primary = exchange.decision!.primary;
    this.settle(statusCode < 500);
    if (statusCode >= 500 && this.canFallBack() && !res.destroyed) {
      // nothing has reached the client: read the failed answer away, then ask legacy
      this.drainingForFallback = true;
      return true;
    }
    const headers = responseHeaders(rawHeaders, exchange, plan.redirects);
    // the upstream answered before the client's body ended (an early 401 to an upload): what is
    // left of the body is nobody's, so the connection closes after this answer instead of being
    // read on, unbounded, or left waiting
    if (this.hasBody && !exchange.req.complete) closeAfterAnswer(res);
    // the tap sees the upstream's answer (by name, as a comparison reads it), not the proxy's own
    // header; its redirects already rewritten, as the copy's are (shadow-runner.ts)
    exchange.tap?.head(statusCode, util.parseHeaders(headers) as ResponseHeaders);
    if (plan.targetHeader) headers.push(TARGET_HEADER, primary);
    res.writeHead(statusCode, headers);
    this.resume = resume;
    return true;
  }

  onData(chunk: Buffer): boolean {
    if (this.drainingForFallback) return true;
    this.exchange.tap?.chunk(chunk);
    const res = this.exchange.res;
    // a client slower than the upstream is given up to responseBuffer bytes held in memory, so a
    // small answer frees its upstream connection at once whatever the client does (nginx's
    // proxy_buffering); past that the upstream is paused and the client has sendTimeout to read
    if (res.write(chunk) || res.writableLength <= this.plan.responseBuffer) {
      this.deadlineAt = performance.now() + this.plan.timeoutMs;
      return true;
    }
    this.phase = 'client';
    this.deadlineAt = performance.now() + this.plan.sendTimeoutMs;
    if (!this.waitsForDrain) {
      this.waitsForDrain = true;
      res.on('drain', () => {
        if (this.phase !== 'client') return;
        this.restart('body', this.plan.timeoutMs);
        // drain can be emitted while another answer's parser runs (a pipelined client's next
        // response flushing inside this one's end()); undici's parser is not reentrant
        queueMicrotask(this.resume!);
      });
    }
    return false;
  }

  onComplete(): void {
    this.abort = null;
    this.context.deadlines.unwatch(this);
    this.releaseOwnClient(false);
    if (this.drainingForFallback) {
      if (!this.exchange.res.destroyed) this.answerFromLegacy(`${this.exchange.decision!.primary} answered 5xx`, '5xx');
      return;
    }
    const { res, tap } = this.exchange;
    // the upstream is done; what the client has not taken yet is held (at most responseBuffer), for at most sendTimeout
    if (res.writableLength > 0) res.socket?.setTimeout(this.plan.sendTimeoutMs);
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
    this.releaseOwnClient(true);
    if (this.answeredWhileQueued) return;
    const { exchange, plan } = this;
    const { logger } = this.context;
    const { res } = exchange;
    const primary = exchange.decision!.primary;
    if (this.drainingForFallback) {
      // the 5xx's body failed too: legacy answers all the same
      if (!res.destroyed) this.answerFromLegacy(`${primary} answered 5xx`, '5xx');
      return;
    }
    if (err instanceof ClientFaultError) {
      // the client broke a limit: nothing counts against the upstream, which saw no complete request
      exchange.tap?.fail(err);
      exchange.rejected = err.fault;
      logger.info({ reqId: exchange.id, route: exchange.route?.name ?? null, target: primary, fault: err.fault }, 'client broke a limit; request cut');
      if (err.fault !== 'send-timeout' && !res.headersSent) {
        closeAfterAnswer(res); // the rest of its body may still be on the way
        respondWithError(res, err.fault === 'body-timeout' ? errors.requestBodyTimeout(plan.bodyTimeoutMs) : errors.requestBodyTooLarge(plan.maxRequestBody), exchange.id);
      } else res.destroy();
      return;
    }
    if (this.cancelled || (res.destroyed && !res.writableFinished)) {
      // the client went away first: the upstream did nothing wrong
      exchange.tap?.fail(err);
      return;
    }
    const kind = classifyTransportError(err as NodeJS.ErrnoException);
    if (kind === 'reset' && this.phase === 'headers' && this.attempt === 0 && !this.hasBody && !res.headersSent && SAFE_METHODS.has(exchange.req.method!)) {
      // a reused keep-alive connection the upstream had just closed: a safe request is sent once more
      logger.info({ reqId: exchange.id, route: exchange.route?.name ?? null, target: primary, err: (err as NodeJS.ErrnoException).code ?? err.message }, 'upstream closed the connection; safe request retried once');
      this.context.send(exchange, plan, false, 1);
      return;
    }
    this.settle(false);
    if (this.canFallBack() && !res.headersSent && !res.destroyed) {
      this.answerFromLegacy(`${primary}: ${(err as NodeJS.ErrnoException).code ?? err.message}`, kind);
      return;
    }
    exchange.tap?.fail(err);
    exchange.failure = kind;
    logger.warn({ reqId: exchange.id, route: exchange.route?.name ?? null, target: primary, kind, err }, 'upstream failed');
    if (plan.targetHeader && !res.headersSent) res.setHeader(TARGET_HEADER, primary);
    respondWithError(res, toUpstreamError(kind, err, primary, exchange.decision!.target, plan.timeoutMs), exchange.id);
  }

  private releaseOwnClient(failed: boolean): void {
    const client = this.ownClient;
    if (!client) return;
    this.ownClient = null;
    this.context.ownClients.delete(client);
    void (failed ? client.destroy() : client.close());
  }

  private restart(phase: Phase, ms: number): void {
    this.phase = phase;
    this.deadlineAt = performance.now() + ms;
  }

  /** the request waited its whole timeout for a connection: legacy answers a safe one, else 503; it was never sent */
  private answerBusy(): void {
    const { exchange, plan } = this;
    const primary = exchange.decision!.primary;
    if (this.canFallBack() && !exchange.res.destroyed) {
      // a saturated service is not a failed one: its breaker is not told
      this.answerFromLegacy(`every connection to ${primary} stayed busy for ${plan.timeoutMs} ms`, 'timeout');
      return;
    }
    exchange.tap?.fail(new Error('no upstream connection became free'));
    exchange.rejected = 'upstream-busy';
    this.context.logger.warn({ reqId: exchange.id, route: exchange.route?.name ?? null, target: primary, waitedMs: plan.timeoutMs }, 'upstream connections busy; request not sent');
    if (exchange.res.destroyed) return;
    exchange.res.setHeader('retry-after', '1');
    respondWithError(exchange.res, errors.upstreamBusy(primary, exchange.decision!.target.origin, plan.timeoutMs), exchange.id);
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
 * hop-by-hop ones (and those the upstream's Connection header names), with redirects to the
 * upstream's own origin rewritten. A flat [name, value, …] list, which Node's writeHead takes without building an object.
 */
function responseHeaders(raw: Buffer[], exchange: Exchange, redirects: RedirectRewrites): string[] {
  const out: string[] = [];
  let connection: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i].toString('latin1');
    const lower = name.toLowerCase();
    if (isHopByHop(lower)) {
      if (lower === 'connection') connection = raw[i + 1].toString('latin1');
      continue;
    }
    // the proxy's own headers are the proxy's to send: an upstream's would read as the proxy's
    if (lower.length > 12 && lower.charCodeAt(0) === 120 /* x */ && lower.startsWith('x-strangler-')) continue;
    const value = raw[i + 1].toString('latin1');
    if (isRedirectHeader(lower)) {
      const self = redirects.get(exchange.decision!.primary);
      out.push(name, self ? rewriteRedirectHeader(lower, value, self, exchange.req) : value);
    } else out.push(name, value);
  }
  const named = namedByConnection(connection);
  if (named.length === 0) return out;
  // rare: Connection: x-foo marks x-foo as this hop's own too
  const filtered: string[] = [];
  for (let i = 0; i < out.length; i += 2) if (!named.includes(out[i].toLowerCase())) filtered.push(out[i], out[i + 1]);
  return filtered;
}
