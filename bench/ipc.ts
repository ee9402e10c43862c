import type { ChildProcess } from 'node:child_process';

/**
 * Messages between the bench and its children. A module of its own because the children (the
 * proxy, the floor, the peers) import it too, and must not pull in the bench's process handling.
 */

/** The first IPC message a child sends; rejects when it exits first or stays silent for timeoutMs. */
export function nextMessage<T>(child: ChildProcess, what: string, timeoutMs: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const done = (err: Error | null, message?: T) => {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
      if (err) reject(err);
      else resolve(message as T);
    };
    const onMessage = (message: unknown) => done(null, message as T);
    const onExit = (code: number | null, signal: string | null) => done(new Error(`${what} exited (${signal ?? code}) before reporting`));
    const timer = setTimeout(() => done(new Error(`${what} sent nothing within ${timeoutMs} ms`)), timeoutMs);
    child.on('message', onMessage);
    child.once('exit', onExit);
  });
}
