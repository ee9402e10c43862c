import type { Transform } from 'node:stream';
import { constants, createBrotliDecompress, createGunzip, createInflate, createInflateRaw } from 'node:zlib';
import { headerValue } from './body.ts';
import type { CapturedResponse } from './types.ts';

/**
 * Bodies as the comparison sees them: decoded from their Content-Encoding. Legacy gzips for any
 * browser (Accept-Encoding: gzip, br) while a service may not; compared as bytes, every answer
 * would differ at `body`. The one place shadow, replay, the recorder, extract and the reports
 * decode. Content-Encoding itself is then only a header, compared when a route's rules list it.
 *
 * Decoding stops at `limit` bytes of output, so a decompression bomb costs at most the cap:
 * a body decoded past it is cut there and marked truncated, like any body over the capture cap.
 */

/** The codings decoded, by their Content-Encoding token; identity is no coding. */
const DECODERS: Record<string, (first: Buffer) => Transform> = {
  gzip: () => createGunzip({ finishFlush: constants.Z_SYNC_FLUSH }),
  'x-gzip': () => createGunzip({ finishFlush: constants.Z_SYNC_FLUSH }),
  // RFC 9110 deflate is zlib-wrapped, but servers (old IIS, some PHP setups) send raw deflate
  deflate: (first) => (isZlibHeader(first) ? createInflate : createInflateRaw)({ finishFlush: constants.Z_SYNC_FLUSH }),
  br: () => createBrotliDecompress({ finishFlush: constants.BROTLI_OPERATION_FLUSH }),
};

export const DECODED_CODINGS = Object.keys(DECODERS);

export interface DecodedBody {
  body: Buffer;
  /** only the first body.length decoded bytes are known (the coded body was cut, or decoded past the limit) */
  truncated: boolean;
  /** the Content-Encoding the body was decoded from, e.g. "gzip"; absent when it had none */
  decodedFrom?: string;
  /** why the body could not be decoded; body is then the bytes as received */
  undecodable?: string;
}

/**
 * The body decoded from `contentEncoding` (a list such as "gzip" or "deflate, br", applied in
 * order, so undone in reverse), at most `limit` bytes. `truncated`: the coded body is only a
 * prefix (cut at the capture cap); its decodable part is returned. Never rejects.
 */
export async function decodeBody(body: Buffer, contentEncoding: string | undefined, limit: number, truncated = false): Promise<DecodedBody> {
  const codings = (contentEncoding ?? '')
    .split(',')
    .map((c) => c.trim().toLowerCase())
    .filter((c) => c !== '' && c !== 'identity');
  // HEAD, 204, 304 answers carry the header of a body they do not send
  if (codings.length === 0 || body.length === 0) return { body, truncated };
  const decodedFrom = codings.join(', ');
  const unknown = codings.find((c) => !Object.hasOwn(DECODERS, c));
  if (unknown) return { body, truncated, undecodable: `Content-Encoding ${unknown} is not decoded by strangler (it decodes ${DECODED_CODINGS.join(', ')})` };
  let out = body;
  let cut = truncated;
  for (const coding of codings.reverse()) {
    try {
      const step = await inflate(DECODERS[coding](out), out, limit);
      out = step.body;
      cut ||= step.overLimit;
    } catch (err) {
      return { body, truncated, undecodable: `the body is not valid ${coding} (${(err as Error).message})` };
    }
  }
  return { body: out, truncated: cut, decodedFrom };
}

/** The response with its body decoded (the same object when it has no Content-Encoding). */
export async function decodeResponse(response: CapturedResponse, limit: number): Promise<CapturedResponse> {
  const coding = headerValue(response.headers, 'content-encoding');
  if (!coding || response.body.length === 0 || response.decodedFrom || response.undecodable) return response;
  const decoded = await decodeBody(response.body, coding, limit, response.truncated === true);
  if (decoded.body === response.body && !decoded.undecodable) return response;
  const out: CapturedResponse = { status: response.status, headers: response.headers, body: decoded.body, truncated: decoded.truncated };
  if (decoded.decodedFrom) out.decodedFrom = decoded.decodedFrom;
  if (decoded.undecodable) out.undecodable = decoded.undecodable;
  return out;
}

/** Feeds input to the decoder and keeps its output up to limit; past it the decoder is destroyed. */
function inflate(decoder: Transform, input: Buffer, limit: number): Promise<{ body: Buffer; overLimit: boolean }> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let kept = 0;
    let done = false;
    const finish = (overLimit: boolean) => {
      if (done) return;
      done = true;
      resolve({ body: chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, kept), overLimit });
    };
    decoder.on('data', (chunk: Buffer) => {
      if (done) return;
      const room = limit - kept;
      if (chunk.length > room) {
        if (room > 0) chunks.push(chunk.subarray(0, room));
        kept += Math.max(0, room);
        finish(true);
        decoder.destroy();
        return;
      }
      chunks.push(chunk);
      kept += chunk.length;
    });
    decoder.on('end', () => finish(false));
    decoder.on('error', (err) => {
      if (!done) {
        done = true;
        reject(err);
      }
    });
    decoder.end(input);
  });
}

/** A zlib stream starts with CMF (method 8, deflate) and FLG, their 16 bits a multiple of 31. */
function isZlibHeader(first: Buffer): boolean {
  return first.length >= 2 && (first[0] & 0x0f) === 8 && ((first[0] << 8) | first[1]) % 31 === 0;
}
