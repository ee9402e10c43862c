import cluster, { type Worker } from 'node:cluster';
import type { Logger } from 'pino';
import { untilSignal } from './until-signal.ts';

const RESTART_BACKOFF_MS = 1000;

/**
 * The primary of `strangler proxy --workers N`: forks N workers that each run the proxy on the
 * same shared socket (node:cluster), replaces a worker that dies, passes SIGHUP on to every
 * worker (each reloads routes.yaml itself), and on SIGTERM/SIGINT stops them all and waits for
 * each to drain.
 */
export async function runWorkers(count: number, logger: Logger): Promise<void> {
  let stopping = false;
  /** workers past listen: they have their SIGHUP handler, one still starting would die of the signal */
  const listening = new Set<Worker>();
  const fork = (): Worker => {
    const worker = cluster.fork();
    worker.once('listening', () => listening.add(worker));
    worker.once('exit', (code, signal) => {
      listening.delete(worker);
      if (stopping) return;
      logger.error({ worker: worker.process.pid, code, signal }, 'proxy worker died, starting another');
      setTimeout(() => !stopping && fork(), RESTART_BACKOFF_MS).unref();
    });
    return worker;
  };
  const alive = (): Worker[] => Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined && !w.isDead());
  // Without a handler SIGHUP would end the primary, and with it every worker.
  const onHup = () => {
    if (stopping) return; // draining workers no longer reload
    const workers = [...listening];
    logger.info({ workers: workers.length }, 'config reload requested');
    for (const worker of workers) worker.process.kill('SIGHUP');
  };
  process.on('SIGHUP', onHup);
  for (let i = 0; i < count; i++) fork();
  logger.info({ workers: count }, 'proxy workers started');

  const signal = await untilSignal();
  stopping = true;
  logger.info({ signal }, 'proxy stopping');
  await Promise.all(
    alive().map(
      (worker) =>
        new Promise<void>((resolve) => {
          worker.once('exit', () => resolve());
          worker.process.kill('SIGTERM');
        }),
    ),
  );
  process.off('SIGHUP', onHup);
}
