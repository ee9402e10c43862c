import cluster from 'node:cluster';
import type { Logger } from 'pino';

/**
 * How the primary of `--workers` stops a worker: a message, not a signal. Ctrl-C in a terminal
 * sends SIGINT to the whole process group, workers included; a SIGTERM from the primary on top
 * would be their second signal and end them mid-drain.
 */
export const STOP_MESSAGE = 'strangler:stop';

/**
 * Resolves on the first SIGINT or SIGTERM (or, in a cluster worker, the primary's stop message);
 * the second signal exits at once. The message is not counted: the Ctrl-C that made the primary
 * send it may reach the worker after it.
 */
export function untilSignal(logger?: Logger): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    let signals = 0;
    let stopped = false;
    const stop = (signal: NodeJS.Signals) => {
      if (stopped) return;
      stopped = true;
      process.off('message', onMessage);
      resolve(signal);
    };
    const onSignal = (signal: NodeJS.Signals) => {
      if (++signals >= 2) process.exit(130);
      if (stopped) logger?.info({ signal }, 'still draining; another signal exits at once');
      stop(signal);
    };
    const onMessage = (message: unknown) => {
      const m = message as { type?: string; signal?: NodeJS.Signals } | null;
      if (m?.type === STOP_MESSAGE) stop(m.signal ?? 'SIGTERM');
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    if (cluster.isWorker) process.on('message', onMessage);
  });
}
