import { Writable } from 'node:stream';
import type { BodyCapture } from './body-capture.ts';

/**
 * What the forwarder streams the primary's body into when the request is shadowed: every chunk
 * goes to the client at the client's pace (backpressure kept), and its first bytes are also
 * captured for the comparison. The client never waits for the copy.
 */
export function teeResponse(res: Writable, capture: BodyCapture, onFinish: () => void): Writable {
  const tee = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      capture.add(chunk);
      if (res.write(chunk)) callback();
      else res.once('drain', () => callback());
    },
    final(callback) {
      res.end(() => {
        onFinish();
        callback();
      });
    },
  });
  // the client went away: stop reading the upstream, as with an untee'd response
  res.once('close', () => {
    if (!res.writableFinished) tee.destroy(new Error('client closed the connection'));
  });
  return tee;
}
