import cluster from 'node:cluster';

/**
 * How the primary of `--workers` stops a worker: a message, not a signal. Ctrl-C in a terminal
 * sends SIGINT to the whole process group, workers included; a SIGTERM from the primary on top
 * would be their second signal and end them mid-drain.
 */
export const STOP_MESSAGE = 'strangler:stop';

/**
 * Resolves on the first SIGINT or SIGTERM (or, in a cluster worker, the primary's stop message);
 * a second signal exits at once.
 */
export function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const stop = (signal: NodeJS.Signals) => {
      process.off('SIGINT', on);
      process.off('SIGTERM', on);
      process.off('message', onMessage);
      const force = () => process.exit(130);
      process.once('SIGINT', force);
      process.once('SIGTERM', force);
      resolve(signal);
    };
    const on = (signal: NodeJS.Signals) => stop(signal);
    const onMessage = (message: unknown) => {
      const m = message as { type?: string; signal?: NodeJS.Signals } | null;
      if (m?.type === STOP_MESSAGE) stop(m.signal ?? 'SIGTERM');
    };
    process.on('SIGINT', on);
    process.on('SIGTERM', on);
    if (cluster.isWorker) process.on('message', onMessage);
  });
}
