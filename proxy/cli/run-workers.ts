import cluster, { type Worker } from 'node:cluster';
import type { Logger } from 'pino';
import { untilSignal } from './until-signal.ts';

const RESTART_BACKOFF_MS = 1000;

/**
 * The primary of `strangler proxy --workers N`: forks N workers that each run the proxy on the
 * same shared socket (node:cluster), replaces a worker that dies, and on SIGTERM/SIGINT stops
 * them all and waits for each to drain.
 */
export async function runWorkers(count: number, logger: Logger): Promise<void> {
  let stopping = false;
  const fork = (): Worker => {
    const worker = cluster.fork();
    worker.once('exit', (code, signal) => {
      if (stopping) return;
      logger.error({ worker: worker.process.pid, code, signal }, 'proxy worker died, starting another');
      setTimeout(() => !stopping && fork(), RESTART_BACKOFF_MS).unref();
    });
    return worker;
  };
  for (let i = 0; i < count; i++) fork();
  logger.info({ workers: count }, 'proxy workers started');

  const signal = await untilSignal();
  stopping = true;
  logger.info({ signal }, 'proxy stopping');
  const workers = Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined);
  await Promise.all(
    workers.map(
      (worker) =>
        new Promise<void>((resolve) => {
          if (worker.isDead()) return resolve();
          worker.once('exit', () => resolve());
          worker.process.kill('SIGTERM');
        }),
    ),
  );
}
