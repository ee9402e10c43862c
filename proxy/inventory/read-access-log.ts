import type { FileHandle } from 'node:fs/promises';
import { open } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { pipeline, type Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { errors, StranglerError } from '../errors.ts';
import { requestPath, requestQuery } from './collapse-path.ts';

/**
 * Streaming readers for the two access logs `strangler inventory` understands, one line at a
 * time (files of gigabytes never sit in memory):
 *  - proxy: the proxy's own access log, JSON lines with msg "request completed"
 *    (proxy/access-log.ts); its other log lines (startup, warnings) are passed over;
 *  - combined: the nginx/Apache "combined" (or "common") format, optionally followed by one
 *    latency field, nginx $request_time (seconds, with a decimal point) or Apache %D
 *    (microseconds, a whole number).
 * A line that cannot be read is counted and the first few are kept with their line numbers;
 * only a file without a single request line is an error.
 */

export const LOG_FORMATS = ['proxy', 'combined'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

/** One request as a log line tells it. */
export interface AccessRecord {
  /** when it was logged, epoch ms */
  at: number;
  method: string;
  /** the request path, query dropped */
  path: string;
  /** the query as logged, without `?`; absent when the request had none */
  query?: string;
  status: number;
  ms?: number;
  /** proxy log: the upstream that answered ('legacy' or a service); absent when the proxy answered itself (shed, bad target) */
  target?: string;
  /** proxy log: the route the proxy matched then */
  route?: string;
  /** which kind of log the line came from */
  source: LogFormat;
}

export interface MalformedLine {
  file: string;
  line: number;
  reason: string;
}

/** What reading a file found besides its records; filled in as the file is read. */
export interface LogStats {
  file: string;
  /** decided from the first line that looks like either format, or forced with --format */
  format: LogFormat | undefined;
  records: number;
  /** proxy log lines that are not about a request (startup, warnings) */
  otherLines: number;
  malformed: number;
  /** the first MAX_EXAMPLES malformed lines */
  examples: MalformedLine[];
}

export interface AccessLogFile {
  file: string;
  /** bytes on disk (compressed size for a .gz) */
  size: number;
  gzip: boolean;
  stats: LogStats;
  /** reads the file once; `onBytes` is told of each chunk read from disk, for progress */
  records(onBytes?: (bytes: number) => void): AsyncGenerator<AccessRecord>;
}

export const MAX_EXAMPLES = 5;
const GZIP_MAGIC = [0x1f, 0x8b];
/** a malformed line is quoted up to this many characters */
const QUOTE_CHARS = 80;

/** Opens a log (so a missing file fails before any other is read) and sniffs gzip. */
export async function openAccessLog(file: string, format: LogFormat | 'auto' = 'auto'): Promise<AccessLogFile> {
  let handle: FileHandle;
  try {
    handle = await open(file, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw errors.accessLogNotFound(file, err);
    throw errors.accessLogUnreadable(file, (err as Error).message, err);
  }
  let size: number;
  let gzip: boolean;
  try {
    const stat = await handle.stat();
    if (stat.isDirectory()) throw errors.accessLogUnreadable(file, 'it is a folder; pass the log files themselves (e.g. /var/log/nginx/access.log*)');
    size = stat.size;
    const { buffer, bytesRead } = await handle.read(Buffer.alloc(2), 0, 2, 0);
    gzip = bytesRead === 2 && buffer[0] === GZIP_MAGIC[0] && buffer[1] === GZIP_MAGIC[1];
  } catch (err) {
    await handle.close();
    if (err instanceof StranglerError) throw err;
    throw errors.accessLogUnreadable(file, (err as Error).message, err);
  }
  const stats: LogStats = { file, format: format === 'auto' ? undefined : format, records: 0, otherLines: 0, malformed: 0, examples: [] };
  return { file, size, gzip, stats, records: (onBytes) => readRecords(handle, gzip, stats, onBytes) };
}

async function* readRecords(handle: FileHandle, gzip: boolean, stats: LogStats, onBytes?: (bytes: number) => void): AsyncGenerator<AccessRecord> {
  const raw = handle.createReadStream({ start: 0, autoClose: false });
  if (onBytes) raw.on('data', (chunk) => onBytes(chunk.length));
  let input: Readable = raw;
  if (gzip) input = pipeline(raw, createGunzip(), () => {});
  const rl = createInterface({ input, crlfDelay: Infinity });
  let n = 0;
  let nonEmpty = 0;
  try {
    for await (const text of rl) {
      n++;
      const line = n === 1 ? text.replace(/^\uFEFF/, '') : text;
      if (line.trim() === '') continue;
      nonEmpty++;
      stats.format ??= detectFormat(line);
      if (!stats.format) {
        malformed(stats, n, `neither a proxy log line nor nginx/Apache combined: ${quote(line)}`);
        continue;
      }
      const parsed = stats.format === 'proxy' ? parseProxyLine(line) : parseCombinedLine(line);
      if (parsed === OTHER_LINE) stats.otherLines++;
      else if (typeof parsed === 'string') malformed(stats, n, `${parsed}: ${quote(line)}`);
      else {
        stats.records++;
        yield parsed;
      }
    }
  } catch (err) {
    if (err instanceof StranglerError) throw err;
    const detail = gzip ? `gzip data is corrupt or cut short (${(err as Error).message})` : (err as Error).message;
    if (stats.records === 0) throw errors.accessLogUnreadable(stats.file, detail, err);
    // a log still being compressed or copied: keep what was read, say where it stopped
    malformed(stats, n + 1, `${detail}; the rest of the file was not read`);
    return;
  } finally {
    rl.close();
    raw.destroy();
    await handle.close();
  }
  if (stats.records === 0 && nonEmpty > 0) {
    const first = stats.examples[0];
    throw errors.accessLogInvalid(
      stats.file,
      stats.otherLines === nonEmpty
        ? `its ${nonEmpty} lines are proxy log lines, but none is an access-log line ("request completed")`
        : `${stats.malformed} line${stats.malformed === 1 ? '' : 's'} could not be read; line ${first.line}: ${first.reason}`,
    );
  }
}

function malformed(stats: LogStats, line: number, reason: string): void {
  stats.malformed++;
  if (stats.examples.length < MAX_EXAMPLES) stats.examples.push({ file: stats.file, line, reason });
}

function quote(line: string): string {
  return JSON.stringify(line.length > QUOTE_CHARS ? `${line.slice(0, QUOTE_CHARS - 1)}…` : line);
}

/** undefined when the line looks like neither format. */
export function detectFormat(line: string): LogFormat | undefined {
  if (line.trimStart().startsWith('{')) return 'proxy';
  if (COMBINED.test(line)) return 'combined';
  return undefined;
}

export const OTHER_LINE = Symbol('not an access-log line');

/** A record, OTHER_LINE for a log line about something else, or why the line is malformed. */
export function parseProxyLine(line: string): AccessRecord | typeof OTHER_LINE | string {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return 'not JSON';
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'not a JSON object';
  const o = value as Record<string, unknown>;
  // Every proxy access line has status and target; a service's own "request completed" line
  // (statusCode, responseTimeMs) has neither: the demo prints its services' logs on its stdout.
  if (o.msg === 'request completed' && !('status' in o) && !('target' in o)) return OTHER_LINE;
  const isAccess = o.msg === 'request completed' || (typeof o.method === 'string' && typeof o.url === 'string' && typeof o.status === 'number');
  if (!isAccess) return typeof o.msg === 'string' ? OTHER_LINE : 'no method, url and status';
  if (typeof o.method !== 'string' || o.method === '') return 'no method';
  if (typeof o.url !== 'string') return 'no url';
  if (typeof o.status !== 'number' || !Number.isInteger(o.status)) return 'no status';
  // pino writes epoch ms by default; the proxy's logger writes ISO time (proxy/log.ts)
  const at = typeof o.time === 'number' ? o.time : typeof o.time === 'string' ? Date.parse(o.time) : NaN;
  if (!Number.isFinite(at)) return 'no time (epoch ms or ISO 8601)';
  const record: AccessRecord = { at, method: o.method, path: requestPath(o.url), status: o.status, source: 'proxy' };
  const query = requestQuery(o.url);
  if (query !== undefined) record.query = query;
  if (typeof o.ms === 'number' && Number.isFinite(o.ms)) record.ms = o.ms;
  if (typeof o.target === 'string') record.target = o.target;
  if (typeof o.route === 'string') record.route = o.route;
  return record;
}

// $remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent" [extra…]
const QUOTED = '"((?:[^"\\\\]|\\\\.)*)"';
const COMBINED = new RegExp(`^\\S+ \\S+ (?:\\S+|${QUOTED}) \\[([^\\]]+)\\] ${QUOTED} (\\d{3}) (\\S+)(?: ${QUOTED} ${QUOTED})?(.*)$`);
const TIME_LOCAL = /^(\d{1,2})\/([A-Za-z]{3})\/(\d{4}):(\d{2}):(\d{2}):(\d{2})(?:\.(\d+))? ([+-])(\d{2}):?(\d{2})$/;
const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
const REQUEST = /^([A-Za-z]+) (\S+)(?: HTTP\/[\d.]+)?$/;
const LATENCY = /^\d+(\.\d+)?$/;

export function parseCombinedLine(line: string): AccessRecord | string {
  const m = COMBINED.exec(line);
  if (!m) return 'not in combined format';
  const [, , timeLocal, request, status, , , , tail] = m;
  const at = parseTimeLocal(timeLocal);
  if (at === undefined) return `time [${timeLocal}] is not like [25/Nov/2026:10:00:00 +0000]`;
  const req = REQUEST.exec(request);
  // "-" and binary junk are what nginx logs for connections that sent no HTTP request
  if (!req) return request === '-' ? 'no request line ("-")' : 'request is not "METHOD /path HTTP/x"';
  const record: AccessRecord = { at, method: req[1].toUpperCase(), path: requestPath(req[2]), status: Number(status), source: 'combined' };
  const query = requestQuery(req[2]);
  if (query !== undefined) record.query = query;
  const ms = parseLatency(tail);
  if (ms !== undefined) record.ms = ms;
  return record;
}

function parseTimeLocal(text: string): number | undefined {
  const t = TIME_LOCAL.exec(text);
  if (!t) return undefined;
  const month = MONTHS.indexOf(t[2].toLowerCase());
  if (month === -1) return undefined;
  const millis = t[7] ? Number(`0.${t[7]}`) * 1000 : 0;
  const utc = Date.UTC(Number(t[3]), month, Number(t[1]), Number(t[4]), Number(t[5]), Number(t[6]), Math.round(millis));
  const offset = (t[8] === '-' ? -1 : 1) * (Number(t[9]) * 60 + Number(t[10])) * 60_000;
  return utc - offset;
}

/**
 * The last field after the user agent, when it is a number: with a decimal point it is
 * nginx's $request_time in seconds (always printed with 3 decimals), without one Apache's %D
 * in microseconds. "-" (nginx before a response) means none.
 */
function parseLatency(tail: string): number | undefined {
  const fields = tail.trim().split(/\s+/);
  const last = fields[fields.length - 1].replace(/^"|"$/g, '');
  if (!LATENCY.test(last)) return undefined;
  return last.includes('.') ? Number(last) * 1000 : Number(last) / 1000;
}

