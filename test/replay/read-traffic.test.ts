import t from 'tap';
import { existsSync, readdirSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StranglerError } from '../../proxy/errors.ts';
import type { RecordedExchange } from '../../proxy/parity/records.ts';
import { countTraffic, readTraffic } from '../../proxy/replay/read-traffic.ts';

const dir = await mkdtemp(join(tmpdir(), 'strangler-traffic-'));
t.teardown(() => rm(dir, { recursive: true, force: true }));

async function write(name: string, content: string): Promise<string> {
  const file = join(dir, name);
  await writeFile(file, content);
  return file;
}

async function readAll(file: string): Promise<RecordedExchange[]> {
  const out: RecordedExchange[] = [];
  for await (const exchange of readTraffic(file)) out.push(exchange);
  return out;
}

async function failure(file: string): Promise<StranglerError> {
  try {
    await readAll(file);
  } catch (err) {
    if (err instanceof StranglerError) return err;
    throw err;
  }
  throw new Error(`${file} was read without an error`);
}

// as Chrome devtools save it: HTTP/2 pseudo-headers, absolute URLs, a form POST
const har = {
  log: {
    version: '1.2',
    creator: { name: 'WebInspector', version: '537.36' },
    pages: [],
    entries: [
      {
        startedDateTime: '2025-11-20T09:30:00.123Z',
        time: 12.5,
        request: {
          method: 'GET',
          url: 'https://rooms.example.com/api/rooms?page=2&sort=name',
          httpVersion: 'http/2.0',
          headers: [
            { name: ':authority', value: 'rooms.example.com' },
            { name: ':method', value: 'GET' },
            { name: ':path', value: '/api/rooms?page=2&sort=name' },
            { name: 'accept', value: 'application/json' },
            { name: 'cookie', value: 'sid=abc' },
            { name: 'cookie', value: 'theme=dark' },
          ],
          queryString: [{ name: 'page', value: '2' }, { name: 'sort', value: 'name' }],
          cookies: [],
          headersSize: -1,
          bodySize: 0,
        },
        response: {
          status: 200,
          statusText: '',
          httpVersion: 'http/2.0',
          headers: [
            { name: 'content-type', value: 'application/json' },
            { name: 'content-encoding', value: 'gzip' },
            { name: 'content-length', value: '40' },
          ],
          cookies: [],
          content: { size: 27, mimeType: 'application/json', text: '{"data":[{"id":1}],"page":2}' },
          redirectURL: '',
          headersSize: -1,
          bodySize: 40,
        },
        cache: {},
        timings: { send: 0, wait: 10, receive: 2.5 },
      },
      {
        startedDateTime: '2025-11-20T09:30:01.000Z',
        time: 30,
        request: {
          method: 'POST',
          url: 'http://localhost:8080/rooms/7/book',
          httpVersion: 'HTTP/1.1',
          headers: [
            { name: 'Host', value: 'localhost:8080' },
            { name: 'Connection', value: 'keep-alive' },
            { name: 'Content-Type', value: 'application/x-www-form-urlencoded' },
            { name: 'Content-Length', value: '21' },
          ],
          queryString: [],
          cookies: [],
          headersSize: 300,
          bodySize: 21,
          postData: { mimeType: 'application/x-www-form-urlencoded', text: 'date=2025-12-01&n=2' },
        },
        response: {
          status: 302,
          statusText: 'Found',
          httpVersion: 'HTTP/1.1',
          headers: [{ name: 'Location', value: '/rooms/7' }],
          cookies: [],
          content: { size: 4, mimeType: 'image/gif', text: 'R0lGOA==', encoding: 'base64' },
          redirectURL: '/rooms/7',
          headersSize: 100,
          bodySize: 0,
        },
        cache: {},
        timings: { send: 0, wait: 28, receive: 2 },
      },
    ],
  },
};

t.test('a HAR from the browser devtools becomes recorded exchanges, path and query only', async (t) => {
  const file = await write('session.har', JSON.stringify(har, null, 2));
  t.same(await readAll(file), [
    {
      at: '2025-11-20T09:30:00.123Z',
      request: { method: 'GET', url: '/api/rooms?page=2&sort=name', headers: { accept: 'application/json', cookie: 'sid=abc; theme=dark' } },
      response: { status: 200, headers: { 'content-type': 'application/json' }, body: '{"data":[{"id":1}],"page":2}', bodyEncoding: 'utf8', truncated: false },
    },
    {
      at: '2025-11-20T09:30:01.000Z',
      request: {
        method: 'POST',
        url: '/rooms/7/book',
        headers: { host: 'localhost:8080', 'content-type': 'application/x-www-form-urlencoded' },
        body: 'date=2025-12-01&n=2',
        bodyEncoding: 'utf8',
      },
      response: { status: 302, headers: { location: '/rooms/7' }, body: 'R0lGOA==', bodyEncoding: 'base64', truncated: false },
    },
  ]);
  t.equal(await countTraffic(file), 2);
});

t.test('a HAR is recognised by its content whatever its name', async (t) => {
  const file = await write('export.json', JSON.stringify(har));
  const exchanges = await readAll(file);
  t.same(exchanges.map((e) => e.request.url), ['/api/rooms?page=2&sort=name', '/rooms/7/book']);
});

const jsonl = [
  JSON.stringify({ at: '2025-11-20T10:00:00.000Z', route: 'rooms-list', request: { method: 'GET', url: '/api/rooms', headers: { accept: '*/*' } } }),
  '',
  JSON.stringify({
    at: '2025-11-20T10:00:01.000Z',
    request: { method: 'POST', url: '/login', headers: {}, body: 'user=ada&password=[redacted]', bodyEncoding: 'utf8' },
    response: { status: 200, headers: { 'content-type': 'text/html' }, body: '<p>hi</p>', bodyEncoding: 'utf8', truncated: false },
  }),
  '   ',
].join('\r\n');

t.test('a JSONL recording: one exchange a line, blank lines skipped', async (t) => {
  const file = await write('traffic.jsonl', jsonl + '\n');
  const exchanges = await readAll(file);
  t.same(exchanges, [
    { at: '2025-11-20T10:00:00.000Z', route: 'rooms-list', request: { method: 'GET', url: '/api/rooms', headers: { accept: '*/*' } } },
    {
      at: '2025-11-20T10:00:01.000Z',
      request: { method: 'POST', url: '/login', headers: {}, body: 'user=ada&password=[redacted]', bodyEncoding: 'utf8' },
      response: { status: 200, headers: { 'content-type': 'text/html' }, body: '<p>hi</p>', bodyEncoding: 'utf8', truncated: false },
    },
  ]);
  t.equal(await countTraffic(file), 2);
});

t.test('stopping early closes the file', async (t) => {
  const file = await write('many.jsonl', Array.from({ length: 1000 }, () => jsonl.split('\r\n')[0]).join('\n'));
  const openFiles = () => readdirSync('/proc/self/fd').length;
  const before = existsSync('/proc/self/fd') ? openFiles() : undefined;
  let seen = 0;
  for await (const _ of readTraffic(file)) if (++seen === 3) break;
  t.equal(seen, 3);
  if (before !== undefined) t.equal(openFiles(), before, 'no file descriptor left open');
  t.equal(await countTraffic(file), 1000);
});

t.test('a line that is not JSON is reported with file and line number', async (t) => {
  const good = jsonl.split('\r\n')[0];
  const file = await write('broken.jsonl', [good, '', good, '{"at": "x", request: }', good].join('\n'));
  const err = await failure(file);
  t.equal(err.code, 'STRANGLER_ERR_TRAFFIC_INVALID');
  t.match(err.message, `${file}:4: not JSON (`);
  t.match(err.message, "each line must be one recorded request as written by the proxy's recorder");
});

t.test('a line with the wrong shape says what is wrong', async (t) => {
  const good = jsonl.split('\r\n')[0];
  const bad = JSON.stringify({ at: 1, request: { method: 'GET', url: 'rooms' }, response: { status: 'ok' } });
  const err = await failure(await write('shape.jsonl', [good, bad].join('\n')));
  t.match(err.message, /shape\.jsonl:2: "at" must be an ISO 8601 time string, found 1; request\.url must be a path such as \/rooms\?page=2, found "rooms"; response\.status must be an HTTP status from 100 to 599, found "ok"/);
  t.match((await failure(await write('array.jsonl', '[1,2]\n'))).message, /array\.jsonl:1: expected an object, found an array/);
});

t.test('a bad HAR entry is reported with the line it starts on', async (t) => {
  const broken = structuredClone(har);
  (broken.log.entries[1].request as { url: unknown }).url = 42;
  const file = await write('bad-entry.har', JSON.stringify(broken, null, 2));
  const text = JSON.stringify(broken, null, 2).split('\n');
  const entryLine = text.findIndex((l, i) => i > 0 && l === '      {' && text[i + 1].includes('"startedDateTime": "2025-11-20T09:30:01.000Z"')) + 1;
  const err = await failure(file);
  t.equal(err.code, 'STRANGLER_ERR_TRAFFIC_INVALID');
  t.match(err.message, `${file}:${entryLine}: log.entries[1]: request.url must be an http(s) URL, found 42`);
});

t.test('a HAR that is not JSON, or has no entries, says so', async (t) => {
  const notJson = await failure(await write('cut.har', '{\n  "log": {\n    "entries": [\n      {,\n'));
  t.match(notJson.message, /cut\.har:4: not JSON \(/);
  t.match(notJson.message, 'Save all as HAR');
  const noEntries = await failure(await write('empty.har', '{"log": {"version": "1.2"}}'));
  t.match(noEntries.message, /empty\.har:1: not a HAR: no log\.entries array/);
});

t.test('a missing file is named in a typed error', async (t) => {
  const file = join(dir, 'nope.jsonl');
  const err = await failure(file);
  t.equal(err.code, 'STRANGLER_ERR_TRAFFIC_NOT_FOUND');
  t.match(err.message, `traffic file ${file} not found`);
  await t.rejects(countTraffic(file), { code: 'STRANGLER_ERR_TRAFFIC_NOT_FOUND' });
  await t.rejects(countTraffic(dir), { code: 'STRANGLER_ERR_TRAFFIC_UNREADABLE' });
});
