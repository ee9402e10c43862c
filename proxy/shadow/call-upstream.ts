import { performance } from 'node:perf_hooks';
import { util, type Dispatcher, type Pool } from 'undici';
import type { CapturedResponse } from '../comparison/types.ts';
import { decodeResponse } from '../comparison/decode-body.ts';
import { BodyCapture } from './body-capture.ts';

export interface CopyCall {
  method: string;
  path: string;
  headers: Record<string, string | string[]>;
  body: Buffer | null;
  timeoutMs: number;
  captureLimit: number;
}

export interface CopyAnswer {
  response: CapturedResponse;
  ms: number;
}

/**
 * Sends a copy of a request and reads the answer up to the capture cap, decoded from its
 * Content-Encoding (at most the cap once decoded). The whole call (connect, headers, body) is
 * bounded by timeoutMs; past it the call is aborted and rejects. The part of a body beyond the
 * cap is read and dropped so the connection can be reused.
 *
 * Dispatched with a handler of our own, like the forwarder: undici's pool.request() adds an
 * AbortSignal, a body stream and an async iterator per call, measured at ~10 % of the proxy's
 * CPU in the shadow row.
 */
export function callUpstream(pool: Pool, call: CopyCall): Promise<CopyAnswer> {
  return new Promise((resolve, reject) => {
    pool.dispatch(
      {
        method: call.method as Dispatcher.HttpMethod,
        path: call.path,
        headers: call.headers,
        body: call.body,
        // the handler's own timer bounds the whole call; undici's would add a timer object per copy
        // that outlives the call by up to a second (see forward/upstream-deadlines.ts)
        headersTimeout: 0,
        bodyTimeout: 0,
      },
      new CopyHandler(call, resolve, reject),
    );
  });
}

class CopyHandler implements Dispatcher.DispatchHandler {
  private readonly started = performance.now();
  private abort: ((err?: Error) => void) | null = null;
  /** set when the deadline passed before undici handed us a way to abort */
  private expired: Error | null = null;
  private readonly timer: NodeJS.Timeout;
  private readonly capture: BodyCapture;
  private status = 0;
  private headers: CapturedResponse['headers'] = {};

  constructor(
    call: CopyCall,
    private readonly resolve: (answer: CopyAnswer) => void,
    private readonly reject: (err: Error) => void,
  ) {
    this.capture = new BodyCapture(call.captureLimit);
    this.timer = setTimeout(() => {
      const err = new Error(`the copy took longer than ${call.timeoutMs} ms (shadow.timeout)`);
      if (this.abort) this.abort(err);
      else this.expired = err;
    }, call.timeoutMs);
  }

  onConnect(abort: (err?: Error) => void): void {
    this.abort = abort;
    if (this.expired) abort(this.expired);
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[]): boolean {
    if (statusCode < 200) return true;
    this.status = statusCode;
    this.headers = util.parseHeaders(rawHeaders) as CapturedResponse['headers'];
    return true;
  }

  onData(chunk: Buffer): boolean {
    this.capture.add(chunk);
    return true;
  }

  onComplete(): void {
    clearTimeout(this.timer);
    const { capture } = this;
    const ms = performance.now() - this.started;
    const response: CapturedResponse = { status: this.status, headers: this.headers, body: capture.toBuffer(), truncated: capture.truncated };
    decodeResponse(response, capture.limit).then((decoded) => this.resolve({ response: decoded, ms }));
  }

  onError(err: Error): void {
    clearTimeout(this.timer);
    this.reject(err);
  }
}
