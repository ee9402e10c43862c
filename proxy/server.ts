import http from 'node:http';
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import type { Config } from './config/schema.ts';
import { createFlagSource, type FlagSource } from './flags/flag-source.ts';
import { createForwarder } from './forward/forwarder.ts';
import { createExchange, type Exchange } from './pipeline/exchange.ts';
import { hasRequestBody } from './forward/hop-by-hop.ts';
import { checkRequest, decide, forwardPlans, isOverBodyLimit, matchRoute, readTesterOverride, runStages, type ProxyState, type Stage } from './pipeline/stages.ts';
import { buildPeerTrust } from './forward/forwarded-headers.ts';
import { buildRedirectRewrites } from './forward/rewrite-redirects.ts';
import { createRequestIds } from './forward/request-id.ts';
import { errors } from './errors.ts';
import { respondWithError } from './forward/upstream-error.ts';
import type { Socket } from 'node:net';
import { buildRouteTable } from './routing/route-table.ts';
import { createAccessLog } from './access-log.ts';
import type { ComparisonStore } from './parity/comparison-store.ts';
import { openConfiguredStore } from './parity/open-configured-store.ts';
import { createShadowRunner, type ShadowRunner } from './shadow/shadow-runner.ts';
import { createRedactor } from './parity/redact.ts';
import { createTrafficRecorder } from './record/traffic-recorder.ts';
import { createBreakerBoard } from './safety/circuit-breaker.ts';
import { createLoadShedder } from './safety/load-shedder.ts';
import { createProxyMetrics, type ProxyMetrics } from './metrics/proxy-metrics.ts';
import { createRateTracker, type RateTracker } from './metrics/rate-tracker.ts';
import { createStepStats, type StepStats } from './rollout/step-stats.ts';

export interface Proxy {
  /** not listening yet: call server.listen() */
  readonly server: http.Server;
  /** the state requests currently see */
  readonly state: ProxyState;
  /** where comparisons are stored; null until a route compares (at start or after a reload) */
  readonly store: ComparisonStore | null;
  readonly metrics: ProxyMetrics;
  readonly rates: RateTracker;
  /** what rollout steps are judged on */
  readonly stepStats: StepStats;
  /** stop accepting, let in-flight requests finish for up to drainMs (default 10 s), then cut them */
  close(drainMs?: number): Promise<void>;
  /** swap to a new, already validated config; in-flight requests finish on the old one */
  reload(config: Config): Promise<void>;
}

/** How long a shutdown waits for requests in flight. */
export const DRAIN_DEADLINE_MS = 10_000;

export interface ProxyOptions {
  logger: Logger;
  /**
   * Where comparisons go. Default: opened from config.comparisons.database when a route compares
   * (stage shadow, or canary with shadow.reverse), at start or at the reload that adds the first
   * such route; null keeps them in memory counters only.
   */
  store?: ComparisonStore | null;
}

export async function buildProxy(config: Config, { logger, store: givenStore }: ProxyOptions): Promise<Proxy> {
  const forwarder = createForwarder(logger);
  const ownsStore = givenStore === undefined;
  let store = ownsStore ? await openConfiguredStore(config, logger) : givenStore;
  const metrics = createProxyMetrics();
  const rates = createRateTracker();
  const stepStats = createStepStats();
  const shadow: ShadowRunner = createShadowRunner({ logger, store: () => store, onOutcome: (route, outcome) => metrics.recordComparison(route, outcome) });
  const recorder = createTrafficRecorder(logger);
  const shedder = createLoadShedder();
  // breakers live as long as the proxy: a reload does not forget a failing service
  const breakers = createBreakerBoard({
    failures: config.breaker.failures,
    openForMs: config.breaker.openForMs,
    onChange: (service, to, why) => {
      metrics.setBreakerState(service, to);
      logger.warn({ service, breaker: to, why }, `circuit breaker ${to}`);
    },
  });
  /** What requests see under one config; the forwarder, runners, breakers and shedder outlive reloads. */
  const stateFor = (next: Config, flags: FlagSource): ProxyState => {
    const trust = buildPeerTrust(next.forwarded.trust);
    const redirects = buildRedirectRewrites(next);
    return {
      config: next,
      routes: buildRouteTable(next.routes),
      flags,
      forwarder,
      shadow,
      recorder,
      breakers,
      shedder,
      redactor: createRedactor(next.comparisons.redact),
      plans: forwardPlans(next, breakers, trust, redirects),
      trust,
      redirects,
    };
  };
  let state = stateFor(config, await createFlagSource(config.flags, { logger, flagNames: flagNamesOf(config) }));
  const requestIds = createRequestIds();
  /** metrics and rates of a finished request; labels are route and upstream names only */
  const observe = (exchange: Exchange) => {
    const route = exchange.route?.name ?? null;
    const target = exchange.decision?.primary ?? (exchange.shed ? 'shed' : 'none');
    const seconds = (performance.now() - exchange.startedAt) / 1000;
    metrics.recordRequest(route, target, exchange.res.statusCode, seconds);
    if (exchange.failure) metrics.recordUpstreamFailure(route, target, exchange.failure);
    // the service failed, legacy answered: the client saw no error, the service's record must
    const fellBack = exchange.fellBack;
    if (fellBack) {
      metrics.recordFallback(route, fellBack.service, fellBack.cause);
      if (fellBack.cause !== '5xx') metrics.recordUpstreamFailure(route, fellBack.service, fellBack.cause);
    }
    if (exchange.rejected) metrics.recordRejected(exchange.rejected);
    if (exchange.shed) metrics.recordShed(exchange.shed.startsWith('route') ? (route ?? 'global') : 'global', exchange.shed);
    if (route) {
      rates.record(route, target);
      if (exchange.route!.rollout) {
        if (fellBack) stepStats.record(route, fellBack.service, 502, seconds * 1000);
        stepStats.record(route, target, exchange.res.statusCode, seconds * 1000);
      }
    }
  };
  const accessLog = createAccessLog(logger, () => state.redactor);

  function onRequest(req: http.IncomingMessage, res: ExchangeResponse): void {
    const exchange = createExchange(requestIds.assign(req, state.trust), req, res, performance.now());
    res.exchange = exchange;
    res.on('close', onResponseClose);
    // req.socket is gone by the time the response closes: the response keeps it
    const socket = (res.clientSocket = req.socket as CountedSocket);
    socket[IN_FLIGHT] = (socket[IN_FLIGHT] ?? 0) + 1;
    runStages(exchange, state);
  }

  /** The one listener a request adds, shared by all of them (a closure per request measurably costs). */
  function onResponseClose(this: ExchangeResponse): void {
    const exchange = this.exchange!;
    const socket = this.clientSocket!;
    if (--socket[IN_FLIGHT]! === 0 && socket[CLOSE_WHEN_IDLE]) socket.destroySoon();
    if (!this.writableFinished) exchange.upstream?.cancel();
    state.shedder.release(exchange);
    accessLog?.record(exchange);
    observe(exchange);
  }

  const { limits } = config;
  const server = http.createServer<typeof http.IncomingMessage, typeof ExchangeResponse>(
    {
      ServerResponse: ExchangeResponse,
      maxHeaderSize: limits.maxHeaderSize,
      // Node checks headersTimeout (and requestTimeout) on this tick; its default, 30 s, would let a slowloris head live 3x the timeout
      connectionsCheckingInterval: Math.min(1_000, limits.headerTimeoutMs),
    },
    onRequest,
  );
  // Node answers Expect: 100-continue itself unless asked: a body that will be refused is not invited
  server.on('checkContinue', (req: http.IncomingMessage, res: ExchangeResponse) => {
    if (!isOverBodyLimit(req, state.config.limits.maxRequestBody)) res.writeContinue();
    onRequest(req, res);
  });
  applyServerLimits(server, limits);
  server.on('drop', () => metrics.recordRejected('connection-limit'));

  /** An upgrade request passes the same checks and decision as any request; then its own forwarder. */
  const UPGRADE_STAGES: readonly Stage[] = [checkRequest, readTesterOverride, matchRoute, decide];

  /** An answered or finished upgrade request: one access-log line and its metrics, like any request. */
  const logUpgrade = (exchange: Exchange, upgraded: boolean) => {
    const { req, res, route, decision } = exchange;
    logger.info(
      { reqId: exchange.id, method: req.method, url: state.redactor.url(req.url ?? ''), route: route?.name ?? null, target: decision?.primary ?? null, reason: decision?.reason, status: res.statusCode, ms: Math.round((performance.now() - exchange.startedAt) * 100) / 100, upgrade: upgraded || undefined, rejected: exchange.rejected },
      'request completed',
    );
    observe(exchange);
  };

  /** The proxy answered the handshake itself (an error): the connection closes once the answer is out. */
  const endRefusedUpgrade = (exchange: Exchange, socket: Socket) => {
    const finish = () => {
      socket.destroySoon();
      logUpgrade(exchange, false);
    };
    if (exchange.res.writableFinished) finish();
    else exchange.res.once('finish', finish);
  };

  const upgrade = (req: http.IncomingMessage, socket: Socket, head: Buffer) => {
    const current = state;
    // a response on the raw socket, so the stages can answer through respondWithError like anywhere else
    const res = new ExchangeResponse(req);
    res.shouldKeepAlive = false;
    res.assignSocket(socket);
    const exchange = createExchange(requestIds.assign(req, current.trust), req, res, performance.now());
    for (let i = 0; i < UPGRADE_STAGES.length; i++) {
      if (!UPGRADE_STAGES[i](exchange, current)) return endRefusedUpgrade(exchange, socket);
    }
    if (hasRequestBody(req.headers)) {
      // a handshake has no body; one announced and never sent would hold both sockets
      exchange.rejected = 'websocket-body';
      respondWithError(res, errors.upgradeWithBody(), exchange.id);
      return endRefusedUpgrade(exchange, socket);
    }
    const shed = current.shedder.admitUpgrade(current.config);
    if (shed) {
      exchange.shed = shed.kind;
      if (shed.kind === 'websockets') exchange.rejected = 'websocket-limit';
      res.setHeader('retry-after', String(current.config.limits.retryAfterS));
      respondWithError(res, shed.kind === 'websockets' ? errors.webSocketsExhausted(current.config.limits.maxWebSockets) : errors.overloaded(shed.detail, current.config.limits.retryAfterS), exchange.id);
      return endRefusedUpgrade(exchange, socket);
    }
    res.detachSocket(socket);
    const { limits, upstreamTimeoutMs } = current.config;
    current.forwarder.forwardUpgrade(exchange, socket, head, { timeoutMs: upstreamTimeoutMs, idleTimeoutMs: limits.webSocketIdleTimeoutMs, trust: current.trust }, (status) => {
      current.shedder.releaseUpgrade();
      res.statusCode = status;
      logUpgrade(exchange, status === 101);
    });
  };

  server.on('upgrade', (req: http.IncomingMessage, socket: Socket, head: Buffer) => {
    // Node's server drops its own error listener once a connection upgrades, and http-proxy adds
    // one only after a 101: without this, a client's reset during the handshake killed the process
    socket.on('error', () => socket.destroy());
    try {
      upgrade(req, socket, head);
    } catch (err) {
      // nothing a request carries may take the process down: the throw stays this connection's
      logger.error({ err, url: state.redactor.url(req.url ?? '') }, 'upgrade request failed');
      socket.destroy();
    }
  });

  server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
    if (!socket.writable || err.code === 'ECONNRESET') {
      socket.destroy();
      return;
    }
    const reason = err.code === 'HPE_HEADER_OVERFLOW' ? 'header-too-large' : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 'header-timeout' : 'malformed';
    // Node's parser stops at the bad bytes; an answer still being written belongs to the request
    // before them, so it is finished and the connection closed after it, never interrupted by a 400
    const current = (socket as { _httpMessage?: http.ServerResponse | null })._httpMessage;
    if (current && !current.writableFinished && !current.req.complete) {
      // the bytes that broke were this request's own body: it cannot be answered
      socket.destroy();
      return;
    }
    metrics.recordRejected(reason);
    if (((socket as CountedSocket)[IN_FLIGHT] ?? 0) > 0) {
      logger.info({ code: err.code, reason }, 'malformed request behind others in flight; the connection closes after their answers');
      (socket as CountedSocket)[CLOSE_WHEN_IDLE] = true;
      return;
    }
    const status = reason === 'header-too-large' ? '431 Request Header Fields Too Large' : reason === 'header-timeout' ? '408 Request Timeout' : '400 Bad Request';
    logger.info({ code: err.code, status: Number(status.slice(0, 3)), reason }, 'malformed request rejected');
    socket.end(`HTTP/1.1 ${status}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`);
  });

  return {
    server,
    get store() {
      return store;
    },
    metrics,
    rates,
    stepStats,
    get state() {
      return state;
    },
    async reload(next) {
      const old = state;
      const flagsChanged = JSON.stringify(next.flags) !== JSON.stringify(old.config.flags);
      const flags: FlagSource = flagsChanged ? await createFlagSource(next.flags, { logger, flagNames: flagNamesOf(next) }) : old.flags;
      // opened before the new routes apply, so their first copies are stored too
      if (store === null && ownsStore && comparesAnyRoute(next)) store = await openConfiguredStore(next, logger);
      state = stateFor(next, flags);
      applyServerLimits(server, next.limits);
      if (next.limits.maxHeaderSize !== old.config.limits.maxHeaderSize) {
        logger.warn({ file: next.file }, 'limits.maxHeaderSize changes only when the proxy restarts');
      }
      if (flagsChanged) old.flags.close();
      logger.info({ file: next.file, routes: next.routes.length }, 'config applied');
    },
    async close(drainMs: number = DRAIN_DEADLINE_MS) {
      // stop accepting; idle keep-alive connections go now, in-flight requests get drainMs
      await new Promise<void>((resolve) => {
        const deadline = setTimeout(() => {
          logger.warn({ drainMs }, 'requests still in flight at the shutdown deadline are cut');
          server.closeAllConnections();
        }, drainMs);
        deadline.unref();
        server.close(() => {
          clearTimeout(deadline);
          resolve();
        });
        server.closeIdleConnections();
      });
      state.flags.close();
      await forwarder.close();
      await shadow.close();
      await recorder.close();
      shedder.close();
      if (ownsStore) await store?.close();
      accessLog?.flush();
    },
  };
}

const IN_FLIGHT = Symbol('strangler requests in flight');
const CLOSE_WHEN_IDLE = Symbol('strangler close when idle');
/** A client connection that knows how many of its requests (pipelined ones too) await their answer. */
type CountedSocket = Socket & { [IN_FLIGHT]?: number; [CLOSE_WHEN_IDLE]?: true };

/** The client-connection limits Node's server keeps itself; the rest are the forwarder's. */
function applyServerLimits(server: http.Server, limits: Config['limits']): void {
  server.maxConnections = limits.maxConnections;
  server.keepAliveTimeout = limits.keepAliveTimeoutMs;
  server.headersTimeout = limits.headerTimeoutMs;
}

/** A response that knows its exchange, so the close listener can be one function for all. */
class ExchangeResponse<Request extends http.IncomingMessage = http.IncomingMessage> extends http.ServerResponse<Request> {
  exchange: Exchange | undefined = undefined;
  /** the client connection, counted while this response is owed */
  clientSocket: CountedSocket | undefined = undefined;
}

export function comparesAnyRoute(config: Config): boolean {
  return config.routes.some((r) => r.stage === 'shadow' || (r.stage === 'canary' && r.shadow.reverse));
}

function flagNamesOf(config: Config): string[] {
  return [...new Set(config.routes.map((r) => r.flag))];
}
