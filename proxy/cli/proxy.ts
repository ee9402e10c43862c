import cluster from 'node:cluster';
import { createLogger } from '../log.ts';
import { loadConfig } from '../config/load-config.ts';
import { CONFIG_OPTION, parseCommandArgs, UsageError, type Command } from './command.ts';
import { runProxy, type RunningProxy } from './run-proxy.ts';
import { runWorkers } from './run-workers.ts';
import { DRAIN_DEADLINE_MS } from '../server.ts';
import { untilSignal } from './until-signal.ts';

export const proxyCommand: Command = {
  name: 'proxy',
  summary: 'run the routing proxy alone, for a monolith and services that run elsewhere',
  usage: `Usage: strangler proxy [--config routes.yaml] [--listen host:port] [--workers N]

Starts the proxy described by the config: every request goes to legacy unless it matches
a route whose flag is on for it. Logs one JSON line per request on stdout.
Editing the config file (or SIGHUP) reloads it; a bad file is reported and the last good
one keeps serving. Flag changes apply within a second. SIGTERM/SIGINT stop accepting, let
requests in flight finish for up to ${DRAIN_DEADLINE_MS / 1000} s, then stop; a second signal stops at once.

Options:
  -c, --config <file>      config file (default: ./routes.yaml)
  -l, --listen <host:port> overrides listen: from the config
  -w, --workers <n>        run n proxy processes on the same address (node:cluster;
                           default 1); a worker that dies is replaced. SIGHUP to the
                           primary reloads every worker. Limits, breakers, metrics and
                           rates are per worker.
  -h, --help               show this help`,
  async run(argv) {
    const { values } = parseCommandArgs(argv, { ...CONFIG_OPTION, listen: { type: 'string', short: 'l' }, workers: { type: 'string', short: 'w', default: '1' } });
    const workers = Number(values.workers);
    if (!Number.isInteger(workers) || workers < 1 || workers > 64) throw new UsageError(`--workers "${values.workers}" must be a whole number from 1 to 64`);
    let listen: { host: string; port: number } | undefined;
    if (values.listen) {
      const m = /^(.+):(\d+)$/.exec(values.listen);
      if (!m) throw new UsageError(`--listen "${values.listen}" is not host:port`);
      listen = { host: m[1], port: Number(m[2]) };
    }
    const config = await loadConfig(values.config);
    const logger = createLogger(config.log.level);
    if (workers > 1 && cluster.isPrimary) return runWorkers(workers, logger);
    // listening for the stop before starting: a signal (or the primary's stop message) that
    // comes while the proxy starts stops it as soon as it is up
    const stopped = untilSignal(logger);
    let running: RunningProxy;
    try {
      running = await runProxy(config, logger, listen);
    } catch (err) {
      // the IPC channel to the primary would keep a worker that cannot start alive, unseen
      if (cluster.isWorker && process.connected) process.disconnect();
      throw err;
    }
    const signal = await stopped;
    logger.info({ signal }, 'proxy stopping');
    await running.stop();
    // A cluster worker's IPC channel to the primary would keep it alive after the drain.
    if (cluster.isWorker && process.connected) process.disconnect();
    return 0;
  },
};
