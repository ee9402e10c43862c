import cluster, { type Worker } from 'node:cluster';
import type { Logger } from 'pino';
import { STOP_MESSAGE, untilSignal } from './until-signal.ts';

const RESTART_BACKOFF_MS = 1000;

/**
 * The primary of `strangler proxy --workers N`: forks N workers that each run the proxy on the
 * same shared socket (node:cluster), replaces a worker that dies, passes SIGHUP on to every
 * worker (each reloads routes.yaml itself), and on SIGTERM/SIGINT stops them all and waits for
 * each to drain (up to the proxy's drain deadline). Resolves with the exit code: 1 when the
 * first workers cannot start (one ends before any listened: a taken port, a bad address), and
 * the others are stopped rather than replaced in a loop.
 */
export async function runWorkers(count: number, logger: Logger): Promise<number> {
  let stopping = false;
  /** workers past listen: they have their stop and SIGHUP handlers, one still starting may not */
  const listening = new Set<Worker>();
  /** a worker has listened: from then on one that ends is replaced (a replacement may meet a routes.yaml broken since) */
  let started = false;
  let failedToStart: (worker: Worker) => void = () => {};
  const startFailure = new Promise<Worker>((resolve) => (failedToStart = resolve));
  const fork = (): Worker => {
    const worker = cluster.fork();
    worker.once('listening', () => {
      listening.add(worker);
      started = true;
    });
    worker.once('exit', (code, signal) => {
      const listened = listening.delete(worker);
      if (stopping) return;
      if (!listened && !started) {
        logger.error({ worker: worker.process.pid, code, signal }, 'proxy worker could not start, stopping');
        failedToStart(worker);
        return;
      }
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

  const stop = await Promise.race([untilSignal().then((signal) => ({ signal })), startFailure.then(() => ({ signal: 'SIGTERM' as const, failed: true }))]);
  stopping = true;
  if (!('failed' in stop)) logger.info({ signal: stop.signal }, 'proxy stopping');
  await Promise.all(
    alive().map(
      (worker) =>
        new Promise<void>((resolve) => {
          worker.once('exit', () => resolve());
          // a listening worker drains on the message; one still starting has nothing to drain;
          // one that is disconnected already (a Ctrl-C reached it first and it drained) is ending
          if (!worker.isConnected()) return;
          // the callback keeps a channel that closes meanwhile from crashing the primary
          if (listening.has(worker)) worker.send({ type: STOP_MESSAGE, signal: stop.signal }, () => {});
          else worker.process.kill('SIGTERM');
        }),
    ),
  );
  process.off('SIGHUP', onHup);
  return 'failed' in stop ? 1 : 0;
}
