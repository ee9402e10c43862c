import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

/** How long a closing connection goes on reading a body nobody wants (nginx's lingering_time is 30 s; one upload's tail needs far less). */
export const LINGER_MS = 2000;

const lingering = new WeakSet<Socket>();

/**
 * The connection closes after this answer, but without losing the answer to a client that is still
 * sending a body nobody will read (a 413 to an upload, an early 401): closing a socket with unread
 * data makes the kernel reset it, and the reset discards the answer on the client's side before
 * the client reads it (0 of 20 streamed uploads over the limit saw their 413). Like nginx's
 * lingering_close, the proxy sends its answer and a FIN, then reads and discards what still comes
 * for up to LINGER_MS, and only then closes. A request read to its end closes as Node closes it.
 */
export function closeAfterAnswer(res: ServerResponse, lingerMs = LINGER_MS): void {
  res.shouldKeepAlive = false;
  if (!res.req || res.req.complete) return;
  const socket = res.socket;
  if (!socket || socket.destroyed || lingering.has(socket)) return;
  lingering.add(socket);
  // Node closes a connection marked to close with socket.destroySoon() once the answer is written
  // (http _server.js resOnFinish): here that becomes a half close that goes on reading
  socket.destroySoon = function lingeringClose(this: Socket) {
    if (this.writable) this.end();
    const timer = setTimeout(() => this.destroy(), lingerMs);
    timer.unref();
    this.once('close', () => clearTimeout(timer));
    // what the client still sends is read and dropped: by the request (the parser feeds it) when the
    // request is still being read, by the socket itself otherwise
    res.req?.resume();
    this.resume();
  };
}
