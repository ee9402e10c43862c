import net from 'node:net';
import type { AddressInfo } from 'node:net';

/**
 * An upstream below HTTP: it logs the exact bytes each connection sent it and answers with what
 * the test's script writes, so a test can see what the proxy really put on the wire and answer
 * in ways Node's http server never would (several 1xx, a reset mid-body, a close after headers).
 */
export interface ByteUpstream {
  url: string;
  /** bytes received per connection, in the order connections were accepted */
  readonly connections: Array<{ socket: net.Socket; bytes: string }>;
  /** everything every connection sent, joined */
  allBytes(): string;
  close(): Promise<void>;
}

export type ByteScript = (socket: net.Socket, received: () => string, connectionIndex: number) => void;

export async function startByteUpstream(script: ByteScript): Promise<ByteUpstream> {
  const connections: ByteUpstream['connections'] = [];
  const server = net.createServer((socket) => {
    const entry = { socket, bytes: '' };
    const index = connections.push(entry) - 1;
    socket.on('error', () => {});
    socket.on('data', (d: Buffer) => (entry.bytes += d.toString('latin1')));
    script(socket, () => entry.bytes, index);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    connections,
    allBytes: () => connections.map((c) => c.bytes).join(''),
    close: () =>
      new Promise<void>((resolve) => {
        for (const c of connections) c.socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** Calls fn once the bytes received hold a whole request head (a blank line). */
export function onRequestHead(socket: net.Socket, received: () => string, fn: (head: string) => void): void {
  let done = false;
  socket.on('data', () => {
    if (done) return;
    const text = received();
    const end = text.indexOf('\r\n\r\n');
    if (end < 0) return;
    done = true;
    fn(text.slice(0, end + 4));
  });
}
