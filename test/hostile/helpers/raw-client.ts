import net from 'node:net';

/**
 * A client that speaks raw bytes: what a hostile or broken client sends, not what Node's http
 * client would allow. Every socket it opens is destroyed when the test ends.
 */
export interface RawConnection {
  readonly socket: net.Socket;
  /** everything received so far, as latin1 text */
  received(): string;
  write(bytes: string | Buffer): void;
  /** resolves once the received text matches, or rejects at the deadline with what came */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<string>;
  /** resolves when the proxy closes the connection (or it errors), with everything received */
  closed(timeoutMs?: number): Promise<string>;
  destroy(): void;
}

export function portOf(url: string): number {
  return Number(new URL(url).port);
}

export async function openRaw(url: string, teardown?: (fn: () => void) => void): Promise<RawConnection> {
  const socket = net.connect(portOf(url), '127.0.0.1');
  socket.on('error', () => {});
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('error', reject);
  });
  let text = '';
  let ended = false;
  const waiters = new Set<() => void>();
  const wake = () => waiters.forEach((w) => w());
  socket.on('data', (d: Buffer) => {
    text += d.toString('latin1');
    wake();
  });
  socket.on('close', () => {
    ended = true;
    wake();
  });
  const until = (done: () => boolean, what: string, timeoutMs: number) =>
    new Promise<string>((resolve, reject) => {
      if (done()) return resolve(text);
      const check = () => {
        if (!done()) return;
        clearTimeout(timer);
        waiters.delete(check);
        resolve(text);
      };
      const timer = setTimeout(() => {
        waiters.delete(check);
        reject(new Error(`${what} within ${timeoutMs} ms; received ${JSON.stringify(text.slice(0, 400))}${ended ? ' (closed)' : ''}`));
      }, timeoutMs);
      waiters.add(check);
    });
  const conn: RawConnection = {
    socket,
    received: () => text,
    write: (bytes) => void socket.write(bytes),
    waitFor: (pattern, timeoutMs = 5000) => until(() => pattern.test(text), `no ${pattern}`, timeoutMs),
    closed: (timeoutMs = 5000) => until(() => ended, 'not closed', timeoutMs),
    destroy: () => socket.destroy(),
  };
  teardown?.(() => socket.destroy());
  return conn;
}

/** Sends bytes on a fresh connection and returns everything received until the proxy closes it. */
export async function rawExchange(url: string, bytes: string | Buffer, timeoutMs = 5000): Promise<string> {
  const conn = await openRaw(url);
  try {
    conn.write(bytes);
    return await conn.closed(timeoutMs);
  } finally {
    conn.destroy();
  }
}

/** The status codes of every HTTP/1.1 status line in a raw answer, in order. */
export function statusLines(text: string): number[] {
  return [...text.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => Number(m[1]));
}
