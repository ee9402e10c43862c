import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import path from 'node:path';
import { pipeline, Transform, type Readable } from 'node:stream';
import type { Logger } from 'pino';
import type { CapturedResponse } from '../comparison/types.ts';
import type { Config, RouteConfig } from '../config/schema.ts';
import { stripHopByHop } from '../forward/hop-by-hop.ts';
import { headerValue } from '../comparison/body.ts';
import { decodeResponse } from '../comparison/decode-body.ts';
import { storeResponse, type Redactor } from '../parity/redact.ts';
import type { RecordedExchange } from '../parity/records.ts';
import { LEGACY, type Exchange, type PrimaryTap } from '../pipeline/exchange.ts';
import { BodyCapture } from '../shadow/body-capture.ts';

/**
 * Records a sample of real traffic per route (routes.yaml `record: 5%`) to a JSONL file that
 * `strangler replay` reads: the request (method, url, headers, body up to recording.maxBody)
 * and legacy's answer, redacted before they touch the disk. Only requests legacy answered are
 * recorded: a recording is the monolith's behaviour, the reference a service is held to.
 */
export interface TrafficRecorder {
  /** the record stage: maybe tap this request for the recording */
  plan(exchange: Exchange, config: Config, redactor: Redactor): PrimaryTap | undefined;
  readonly stats: { recorded: number; dropped: number };
  close(): Promise<void>;
}

/** Lines waiting for the disk; beyond this a slow disk costs recordings, not memory. */
const MAX_PENDING_BYTES = 8 * 1024 * 1024;
const UNRECORDED_HEADERS = /^(x-forwarded-|x-real-ip$|via$|content-length$|x-strangler-)/;

export function createTrafficRecorder(logger: Logger): TrafficRecorder {
  let stream: WriteStream | undefined;
  let file: string | undefined;
  /** answers being decoded from their Content-Encoding before they are written */
  const decoding = new Set<Promise<void>>();
  const track = (work: Promise<void>) => {
    const done = work.catch((err: unknown) => logger.error({ err }, 'recording line failed; the client was not affected'));
    decoding.add(done);
    void done.finally(() => decoding.delete(done));
  };
  const stats = { recorded: 0, dropped: 0 };
  const streamFor = (target: string): WriteStream => {
    if (stream && file === target) return stream;
    stream?.end();
    mkdirSync(path.dirname(target), { recursive: true });
    stream = createWriteStream(target, { flags: 'a' });
    stream.on('error', (err) => logger.error({ err, file: target }, 'recording file cannot be written; recording stops until the next config reload'));
    file = target;
    logger.info({ file: target }, 'recording traffic');
    return stream;
  };
  const append = (target: string, line: RecordedExchange) => {
    const out = streamFor(target);
    if (out.writableLength > MAX_PENDING_BYTES || out.destroyed) {
      stats.dropped++;
      return;
    }
    out.write(`${JSON.stringify(line)}\n`);
    stats.recorded++;
  };

  return {
    stats,
    plan(exchange, config, redactor) {
      const route = exchange.route;
      if (!route || route.record === 0 || !config.recording || exchange.decision?.primary !== LEGACY) return undefined;
      if (route.record < 1 && Math.random() >= route.record) return undefined;
      const target = config.recording.file;
      return new RecordTap(exchange, route, config.recording.maxBody, redactor, (line) => append(target, line), track);
    },
    async close() {
      await Promise.all(decoding);
      const s = stream;
      stream = undefined;
      if (s) await new Promise<void>((resolve) => s.end(resolve));
    },
  };
}

class RecordTap implements PrimaryTap {
  private readonly at = new Date().toISOString();
  private readonly requestCapture: BodyCapture;
  private readonly responseCapture: BodyCapture;
  private response: { status: number; headers: CapturedResponse['headers'] } | undefined;
  private readonly headers: Record<string, string | string[] | undefined>;

  constructor(
    private readonly exchange: Exchange,
    private readonly route: RouteConfig,
    maxBody: number,
    private readonly redactor: Redactor,
    private readonly write: (line: RecordedExchange) => void,
    private readonly track: (work: Promise<void>) => void,
  ) {
    this.requestCapture = new BodyCapture(maxBody);
    this.responseCapture = new BodyCapture(maxBody);
    this.headers = { ...exchange.req.headers };
    stripHopByHop(this.headers);
  }

  requestBody(source: Readable): Readable {
    const capture = this.requestCapture;
    const tee = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        capture.add(chunk);
        callback(null, chunk);
      },
    });
    pipeline(source, tee, () => {});
    return tee;
  }

  head(status: number, headers: CapturedResponse['headers']): void {
    this.response = { status, headers: { ...headers } };
  }

  chunk(chunk: Buffer): void {
    this.responseCapture.add(chunk);
  }

  end(): void {
    const response = this.response;
    if (!response) return;
    const captured: CapturedResponse = { status: response.status, headers: response.headers, body: this.responseCapture.toBuffer(), truncated: this.responseCapture.truncated };
    // stored decoded, so the redactor can read it and replay and extract compare it
    if (headerValue(response.headers, 'content-encoding')) this.track(decodeResponse(captured, this.responseCapture.limit).then((decoded) => this.finish(decoded)));
    else this.finish(captured);
  }

  fail(): void {
    // no complete answer from legacy: nothing worth replaying
  }

  private finish(response: CapturedResponse): void {
    const r = this.redactor;
    const requestHeaders = r.headers(this.headers);
    for (const name of Object.keys(requestHeaders)) if (UNRECORDED_HEADERS.test(name)) delete requestHeaders[name];
    const req = this.exchange.req;
    const line: RecordedExchange = {
      at: this.at,
      route: this.route.name,
      request: { method: req.method ?? 'GET', url: r.url(req.url ?? '/'), headers: requestHeaders },
    };
    if (this.requestCapture.size > 0) {
      const body = r.body(this.requestCapture.toBuffer(), header(this.headers['content-type']), this.requestCapture.limit);
      line.request.body = body.body;
      line.request.bodyEncoding = body.bodyEncoding;
      if (body.truncated || this.requestCapture.truncated) line.request.truncated = true;
    }
    line.response = storeResponse(response, r, this.responseCapture.limit);
    this.write(line);
  }
}

function header(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}
