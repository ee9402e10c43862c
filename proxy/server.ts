import http from 'node:http';
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import type { Config } from './config/schema.ts';
import { createFlagSource, type FlagSource } from './flags/flag-source.ts';
import { createForwarder } from './forward/forwarder.ts';
import { createExchange } from './pipeline/exchange.ts';
import { runStages, type ProxyState } from './pipeline/stages.ts';
import { buildRouteTable } from './routing/route-table.ts';
import { createAccessLog } from './access-log.ts';

export interface Proxy {
  /** not listening yet: call server.listen() */
  readonly server: http.Server;
  /** the state requests currently see */
  readonly state: ProxyState;
  /** swap to a new, already validated config; in-flight requests finish on the old one */
  reload(config: Config): Promise<void>;
  close(): Promise<void>;
}

export interface ProxyOptions {
  logger: Logger;
}

export async function buildProxy(config: Config, { logger }: ProxyOptions): Promise<Proxy> {
  const forwarder = createForwarder(logger);
  let state: ProxyState = {
    config,
    routes: buildRouteTable(config.routes),
    flags: await createFlagSource(config.flags, { logger, flagNames: flagNamesOf(config) }),
    forwarder,
  };
  let sequence = 0;
  const accessLog = createAccessLog(logger);
  const idPrefix = `${process.pid.toString(36)}-`;

  const server = http.createServer({ keepAliveTimeout: 65_000 }, (req, res) => {
    const incoming = req.headers['x-request-id'];
    const id = typeof incoming === 'string' && incoming.length <= 64 ? incoming : idPrefix + (++sequence).toString(36);
    const exchange = createExchange(id, req, res, performance.now());
    if (accessLog) res.once('close', () => accessLog.record(exchange));
    runStages(exchange, state);
  });

  // WebSockets stay on the monolith: services are extracted one HTTP route at a time.
  server.on('upgrade', (req, socket, head) => {
    delete req.headers['x-strangler-force'];
    delete req.headers['x-strangler-secret'];
    forwarder.forwardUpgrade(req, socket, head, state.config.legacy);
  });

  server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
    if (!socket.writable || err.code === 'ECONNRESET') {
      socket.destroy();
      return;
    }
    const status = err.code === 'HPE_HEADER_OVERFLOW' ? '431 Request Header Fields Too Large' : '400 Bad Request';
    logger.info({ code: err.code, status: Number(status.slice(0, 3)) }, 'malformed request rejected');
    socket.end(`HTTP/1.1 ${status}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`);
  });

  return {
    server,
    get state() {
      return state;
    },
    async reload(next) {
      const old = state;
      const flagsChanged = JSON.stringify(next.flags) !== JSON.stringify(old.config.flags);
      const flags: FlagSource = flagsChanged ? await createFlagSource(next.flags, { logger, flagNames: flagNamesOf(next) }) : old.flags;
      state = { config: next, routes: buildRouteTable(next.routes), flags, forwarder };
      if (flagsChanged) old.flags.close();
      logger.info({ file: next.file, routes: next.routes.length }, 'config applied');
    },
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      });
      state.flags.close();
      await forwarder.close();
      accessLog?.flush();
    },
  };
}

function flagNamesOf(config: Config): string[] {
  return [...new Set(config.routes.map((r) => r.flag))];
}
