import { open, type FileHandle } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { errors, StranglerError } from '../errors.ts';
import { stripHopByHop } from '../forward/hop-by-hop.ts';
import type { RecordedExchange, RequestSummary, StoredResponse } from '../parity/records.ts';

/**
 * Reads recorded traffic for replay: the proxy's own recordings (JSONL, one RecordedExchange a
 * line, streamed) or an HTTP Archive 1.2 saved from browser devtools (one JSON document, read
 * whole). Values are passed on as found: a recording is redacted when written, a HAR is not.
 *
 * A browser's HAR also lists the requests that got no answer: blocked (by an extension, a
 * policy, Playwright's route.abort()), cancelled by a navigation, or failed on the network.
 * Playwright writes them with status -1, Chrome's devtools with status 0. They are skipped,
 * told to `onUnanswered`, and not counted by countTraffic: there is nothing to compare them to.
 */

const JSONL_HINT = "each line must be one recorded request as written by the proxy's recorder";
const HAR_HINT = 'a .har file must be one HTTP Archive as saved from the browser devtools (Network → Save all as HAR with content)';
/** Enough of the file to see whether it opens with a HAR's `{"log":`. */
const SNIFF_BYTES = 4096;
/**
 * Not kept from a HAR: the body is stored decoded and may be redacted later, so its length and
 * content-coding no longer describe it; replay frames the body it sends itself.
 */
const HAR_DROPPED_HEADERS = ['content-length', 'content-encoding'];

/** A HAR entry whose request got no answer when it was recorded. */
export interface UnansweredEntry {
  /** position in log.entries */
  index: number;
  method: string;
  url: string;
  /** as written: -1 (Playwright) or 0 (Chrome devtools) */
  status: number;
  /** the browser's reason when it wrote one (Playwright `_failureText`, Chrome `_error`), e.g. net::ERR_BLOCKED_BY_CLIENT */
  error?: string;
}

export interface ReadTrafficOptions {
  onUnanswered?: (entry: UnansweredEntry) => void;
}

/** The exchanges in a traffic file, in file order. Throws StranglerError on the first bad line or entry. */
export async function* readTraffic(file: string, options: ReadTrafficOptions = {}): AsyncIterable<RecordedExchange> {
  const handle = await openTraffic(file);
  try {
    if (await isHar(file, handle)) {
      yield* readHarEntries(file, await readText(file, handle), options);
      return;
    }
    yield* readJsonLines(file, handle);
  } finally {
    await handle.close();
  }
}

/** How many exchanges readTraffic will yield if the file is valid; for progress totals. */
export async function countTraffic(file: string): Promise<number> {
  const handle = await openTraffic(file);
  try {
    if (await isHar(file, handle)) return harEntries(file, await readText(file, handle)).filter((entry) => !isUnanswered(entry)).length;
    let count = 0;
    for await (const line of lines(file, handle)) if (line.trim() !== '') count++;
    return count;
  } finally {
    await handle.close();
  }
}

async function openTraffic(file: string): Promise<FileHandle> {
  let handle: FileHandle;
  try {
    handle = await open(file, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw errors.trafficFileNotFound(file, err);
    throw errors.trafficFileUnreadable(file, (err as Error).message, err);
  }
  const stat = await handle.stat();
  if (stat.isDirectory()) {
    await handle.close();
    throw errors.trafficFileUnreadable(file, 'it is a folder; pass the recording file itself');
  }
  return handle;
}

async function isHar(file: string, handle: FileHandle): Promise<boolean> {
  if (file.toLowerCase().endsWith('.har')) return true;
  const { buffer, bytesRead } = await handle.read(Buffer.alloc(SNIFF_BYTES), 0, SNIFF_BYTES, 0);
  return /^\uFEFF?\s*\{\s*"log"\s*:/.test(buffer.subarray(0, bytesRead).toString('utf8'));
}

async function readText(file: string, handle: FileHandle): Promise<string> {
  try {
    const { size } = await handle.stat();
    const buffer = Buffer.alloc(size);
    let read = 0;
    while (read < size) {
      const { bytesRead } = await handle.read(buffer, read, size - read, read);
      if (bytesRead === 0) break;
      read += bytesRead;
    }
    return buffer.subarray(0, read).toString('utf8');
  } catch (err) {
    throw errors.trafficFileUnreadable(file, (err as Error).message, err);
  }
}

async function* lines(file: string, handle: FileHandle): AsyncGenerator<string> {
  const stream = handle.createReadStream({ start: 0, autoClose: false });
  const rl = createInterface({ input: stream, crlfDelay: Infinity });
  try {
    for await (const line of rl) yield line;
  } catch (err) {
    if (err instanceof StranglerError) throw err;
    throw errors.trafficFileUnreadable(file, (err as Error).message, err);
  } finally {
    rl.close();
    stream.destroy();
  }
}

async function* readJsonLines(file: string, handle: FileHandle): AsyncGenerator<RecordedExchange> {
  let n = 0;
  for await (const raw of lines(file, handle)) {
    n++;
    const line = n === 1 ? raw.replace(/^\uFEFF/, '') : raw;
    if (line.trim() === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (err) {
      throw errors.trafficFileInvalid(file, n, `not JSON (${(err as Error).message}); ${JSONL_HINT}`, err);
    }
    const problems: string[] = [];
    const exchange = toExchange(value, problems);
    if (!exchange) throw errors.trafficFileInvalid(file, n, `${problems.join('; ')}; ${JSONL_HINT}`);
    yield exchange;
  }
}

// ---- JSONL: validating a RecordedExchange ----------------------------------------------------

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

function toExchange(value: unknown, problems: string[]): RecordedExchange | undefined {
  if (!isObject(value)) {
    problems.push(`expected an object, found ${describe(value)}`);
    return undefined;
  }
  if (typeof value.at !== 'string') problems.push(`"at" must be an ISO 8601 time string, found ${describe(value.at)}`);
  if (value.route !== undefined && typeof value.route !== 'string') problems.push(`"route" must be a string, found ${describe(value.route)}`);
  const request = toRequest(value.request, problems);
  const response = value.response === undefined ? undefined : toResponse(value.response, 'response', problems);
  if (problems.length > 0 || !request) return undefined;
  const exchange: RecordedExchange = { at: value.at as string, request };
  if (value.route !== undefined) exchange.route = value.route as string;
  if (response) exchange.response = response;
  return exchange;
}

function toRequest(value: unknown, problems: string[]): RequestSummary | undefined {
  if (!isObject(value)) {
    problems.push(`"request" must be an object with method and url, found ${describe(value)}`);
    return undefined;
  }
  const before = problems.length;
  if (typeof value.method !== 'string' || value.method === '') problems.push(`request.method must be a non-empty string, found ${describe(value.method)}`);
  const url = typeof value.url === 'string' ? toPathAndQuery(value.url) : undefined;
  if (url === undefined) problems.push(`request.url must be a path such as /rooms?page=2, found ${describe(value.url)}`);
  const headers = toHeaders(value.headers, 'request.headers', problems);
  const body = toBody(value.body, value.bodyEncoding, 'request', problems);
  if (problems.length > before) return undefined;
  const request: RequestSummary = { method: value.method as string, url: url!, headers };
  if (body) Object.assign(request, body);
  return request;
}

function toResponse(value: unknown, where: string, problems: string[]): StoredResponse | undefined {
  if (!isObject(value)) {
    problems.push(`"${where}" must be an object with a status, found ${describe(value)}`);
    return undefined;
  }
  const before = problems.length;
  const status = value.status;
  if (!Number.isInteger(status) || (status as number) < 100 || (status as number) > 599) problems.push(`${where}.status must be an HTTP status from 100 to 599, found ${describe(status)}`);
  const headers = toHeaders(value.headers, `${where}.headers`, problems);
  const body = toBody(value.body ?? '', value.bodyEncoding, where, problems);
  if (value.truncated !== undefined && typeof value.truncated !== 'boolean') problems.push(`${where}.truncated must be true or false, found ${describe(value.truncated)}`);
  if (value.decodedFrom !== undefined && typeof value.decodedFrom !== 'string') problems.push(`${where}.decodedFrom must be a Content-Encoding such as "gzip", found ${describe(value.decodedFrom)}`);
  if (problems.length > before || !body) return undefined;
  const response: StoredResponse = { status: status as number, headers, body: body.body, bodyEncoding: body.bodyEncoding, truncated: value.truncated === true };
  if (typeof value.decodedFrom === 'string') response.decodedFrom = value.decodedFrom;
  return response;
}

function toHeaders(value: unknown, where: string, problems: string[]): Record<string, string> {
  if (value === undefined) return {};
  if (!isObject(value)) {
    problems.push(`${where} must be an object of strings, found ${describe(value)}`);
    return {};
  }
  const headers: Record<string, string> = {};
  for (const [name, v] of Object.entries(value)) {
    if (typeof v !== 'string') problems.push(`${where}["${name}"] must be a string, found ${describe(v)}`);
    else headers[name.toLowerCase()] = v;
  }
  return headers;
}

function toBody(body: unknown, encoding: unknown, where: string, problems: string[]): { body: string; bodyEncoding: 'utf8' | 'base64' } | undefined {
  if (body === undefined) return undefined;
  if (typeof body !== 'string') {
    problems.push(`${where}.body must be a string, found ${describe(body)}`);
    return undefined;
  }
  if (encoding !== undefined && encoding !== 'utf8' && encoding !== 'base64') {
    problems.push(`${where}.bodyEncoding must be "utf8" or "base64", found ${describe(encoding)}`);
    return undefined;
  }
  return { body, bodyEncoding: encoding ?? 'utf8' };
}

/** Path and query of a request target; an absolute URL loses its origin. */
function toPathAndQuery(url: string): string | undefined {
  if (url.startsWith('/')) return url;
  if (!/^https?:\/\//i.test(url)) return undefined;
  try {
    const parsed = new URL(url);
    return parsed.pathname + parsed.search;
  } catch {
    return undefined;
  }
}

function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  const text = JSON.stringify(value);
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}

// ---- HAR ---------------------------------------------------------------------------------------

function harEntries(file: string, text: string): unknown[] {
  let doc: unknown;
  try {
    doc = JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (err) {
    const message = (err as Error).message;
    const position = /at position (\d+)/.exec(message);
    const line = position ? lineAt(text, Number(position[1])) : 1;
    throw errors.trafficFileInvalid(file, line, `not JSON (${message}); ${HAR_HINT}`, err);
  }
  const log = isObject(doc) ? doc.log : undefined;
  const entries = isObject(log) ? log.entries : undefined;
  if (!Array.isArray(entries)) throw errors.trafficFileInvalid(file, 1, `not a HAR: no log.entries array at the top; ${HAR_HINT}`);
  return entries;
}

/**
 * No answer: status -1 or 0 in an entry that is otherwise a HAR entry. Any other status out of
 * range stays an error, as does an entry without a response.
 */
function isUnanswered(entry: unknown): entry is Json & { response: Json & { status: number } } {
  return isObject(entry) && isObject(entry.response) && (entry.response.status === -1 || entry.response.status === 0);
}

function toUnanswered(entry: Json & { response: Json & { status: number } }, index: number): UnansweredEntry {
  const request = isObject(entry.request) ? entry.request : {};
  const error = entry.response._failureText ?? entry.response._error;
  return {
    index,
    method: typeof request.method === 'string' ? request.method.toUpperCase() : '?',
    url: typeof request.url === 'string' ? request.url : '?',
    status: entry.response.status,
    ...(typeof error === 'string' && error !== '' ? { error } : {}),
  };
}

function* readHarEntries(file: string, text: string, options: ReadTrafficOptions): Generator<RecordedExchange> {
  const entries = harEntries(file, text);
  for (let i = 0; i < entries.length; i++) {
    const entry = entries[i];
    if (isUnanswered(entry)) {
      options.onUnanswered?.(toUnanswered(entry, i));
      continue;
    }
    const problems: string[] = [];
    const exchange = harToExchange(entry, problems);
    if (!exchange) {
      const line = findEntryLines(text)[i] ?? 1;
      throw errors.trafficFileInvalid(file, line, `log.entries[${i}]: ${problems.join('; ')}; ${HAR_HINT}`);
    }
    yield exchange;
  }
}

function harToExchange(entry: unknown, problems: string[]): RecordedExchange | undefined {
  if (!isObject(entry)) {
    problems.push(`expected an object, found ${describe(entry)}`);
    return undefined;
  }
  if (typeof entry.startedDateTime !== 'string') problems.push(`startedDateTime must be a time string, found ${describe(entry.startedDateTime)}`);
  const request = harToRequest(entry.request, problems);
  const response = harToResponse(entry.response, problems);
  if (problems.length > 0 || !request) return undefined;
  const exchange: RecordedExchange = { at: entry.startedDateTime as string, request };
  if (response) exchange.response = response;
  return exchange;
}

function harToRequest(value: unknown, problems: string[]): RequestSummary | undefined {
  if (!isObject(value)) {
    problems.push(`request must be an object, found ${describe(value)}`);
    return undefined;
  }
  const before = problems.length;
  if (typeof value.method !== 'string' || value.method === '') problems.push(`request.method must be a non-empty string, found ${describe(value.method)}`);
  const url = typeof value.url === 'string' ? toPathAndQuery(value.url) : undefined;
  if (url === undefined) problems.push(`request.url must be an http(s) URL, found ${describe(value.url)}`);
  const headers = harHeaders(value.headers, 'request.headers', problems);
  const postData = value.postData;
  let body: string | undefined;
  let bodyEncoding: 'utf8' | 'base64' = 'utf8';
  if (postData !== undefined) {
    if (!isObject(postData)) problems.push(`request.postData must be an object, found ${describe(postData)}`);
    else {
      if (typeof postData.text === 'string') body = postData.text;
      else if (Array.isArray(postData.params)) body = harParams(postData.params, problems);
      if (postData.encoding === 'base64') bodyEncoding = 'base64';
      if (typeof postData.mimeType === 'string' && postData.mimeType !== '' && headers['content-type'] === undefined) headers['content-type'] = postData.mimeType;
    }
  }
  if (problems.length > before) return undefined;
  const request: RequestSummary = { method: (value.method as string).toUpperCase(), url: url!, headers };
  if (body !== undefined) {
    request.body = body;
    request.bodyEncoding = bodyEncoding;
  }
  return request;
}

function harToResponse(value: unknown, problems: string[]): StoredResponse | undefined {
  if (value === undefined) return undefined;
  if (!isObject(value)) {
    problems.push(`response must be an object, found ${describe(value)}`);
    return undefined;
  }
  const before = problems.length;
  if (!Number.isInteger(value.status) || (value.status as number) < 100 || (value.status as number) > 599) problems.push(`response.status must be an HTTP status from 100 to 599, found ${describe(value.status)}`);
  const headers = harHeaders(value.headers, 'response.headers', problems);
  const content = value.content === undefined ? {} : value.content;
  if (!isObject(content)) problems.push(`response.content must be an object, found ${describe(content)}`);
  if (problems.length > before || !isObject(content)) return undefined;
  const text = typeof content.text === 'string' ? content.text : undefined;
  return {
    status: value.status as number,
    headers,
    body: text ?? '',
    bodyEncoding: content.encoding === 'base64' ? 'base64' : 'utf8',
    // devtools leave the text out of large or binary answers unless saved "with content"
    truncated: text === undefined && typeof content.size === 'number' && content.size > 0,
  };
}

function harHeaders(value: unknown, where: string, problems: string[]): Record<string, string> {
  if (value === undefined) return {};
  if (!Array.isArray(value)) {
    problems.push(`${where} must be a list of {name, value}, found ${describe(value)}`);
    return {};
  }
  const headers: Record<string, string> = {};
  value.forEach((h, i) => {
    if (!isObject(h) || typeof h.name !== 'string' || typeof h.value !== 'string') {
      problems.push(`${where}[${i}] must be {name, value} with two strings`);
      return;
    }
    const name = h.name.toLowerCase();
    if (name.startsWith(':') || HAR_DROPPED_HEADERS.includes(name)) return;
    const previous = headers[name];
    // HTTP/2 sends each cookie as its own header; a request carries them as one, "; "-separated
    headers[name] = previous === undefined ? h.value : `${previous}${name === 'cookie' ? '; ' : ', '}${h.value}`;
  });
  stripHopByHop(headers);
  return headers;
}

function harParams(params: unknown[], problems: string[]): string | undefined {
  const form = new URLSearchParams();
  for (const p of params) {
    if (!isObject(p) || typeof p.name !== 'string') {
      problems.push('request.postData.params must be a list of {name, value}');
      return undefined;
    }
    form.append(p.name, typeof p.value === 'string' ? p.value : '');
  }
  return form.toString();
}

function lineAt(text: string, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset && i < text.length; i++) if (text.charCodeAt(i) === 10) line++;
  return line;
}

/**
 * The line on which each element of log.entries starts, found by walking the text's structure
 * (the text is known to be valid JSON). Only needed to locate an error, so only run then.
 */
function findEntryLines(text: string): number[] {
  const found: number[] = [];
  // one frame per open container: an object remembers its current key
  const stack: Array<{ array: boolean; key?: string }> = [];
  let line = 1;
  let pendingKey: string | undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '\n') line++;
    else if (c === '"') {
      const start = i;
      for (i++; i < text.length && text[i] !== '"'; i++) if (text[i] === '\\') i++;
      pendingKey = text.slice(start, i + 1);
    } else if (c === ':') {
      const top = stack[stack.length - 1];
      if (top && !top.array && pendingKey !== undefined) top.key = JSON.parse(pendingKey) as string;
    } else if (c === '{' || c === '[') {
      if (c === '{' && stack.length === 3 && stack[2].array && stack[1].key === 'entries' && stack[0].key === 'log') found.push(line);
      stack.push({ array: c === '[' });
    } else if (c === '}' || c === ']') stack.pop();
  }
  return found;
}
