import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import t from 'tap';
import { StranglerError } from '../../proxy/errors.ts';
import { openAccessLog, type AccessRecord } from '../../proxy/inventory/read-access-log.ts';

const PROXY = [
  '{"level":30,"time":"2026-11-25T10:00:00.000Z","pid":1,"name":"strangler","url":"http://127.0.0.1:8080","routes":1,"msg":"proxy listening"}',
  '{"level":30,"time":"2026-11-25T10:00:01.000Z","pid":1,"name":"strangler","reqId":"a-1","method":"GET","url":"/api/rooms/1","route":"rooms-get","target":"rooms","reason":"flag-on","status":200,"ms":4.5,"msg":"request completed"}',
  '{"level":30,"time":"2026-11-25T10:00:02.000Z","pid":1,"name":"strangler","reqId":"a-2","method":"GET","url":"/","route":null,"target":"legacy","reason":"unmatched","status":200,"ms":9,"msg":"request completed"}',
  // the rooms service's own Fastify line, printed on the same stdout by strangler demo
  '{"level":30,"time":"2026-11-25T10:00:03.000Z","pid":1,"name":"strangler","upstream":"rooms","reqId":"req-1","method":"GET","url":"/api/rooms/1","statusCode":200,"responseTimeMs":2.1,"msg":"request completed"}',
];
const COMBINED = [
  '203.0.113.7 - - [25/Nov/2026:10:00:00 +0000] "GET /api/rooms/1 HTTP/1.1" 200 512 "-" "curl/8.5" 0.004',
  '203.0.113.7 - - [25/Nov/2026:10:00:01 +0000] "GET /about HTTP/1.1" 200 512 "-" "curl/8.5" 0.010',
];

async function readAll(file: string, format: 'auto' | 'proxy' | 'combined' = 'auto') {
  const log = await openAccessLog(file, format);
  const records: AccessRecord[] = [];
  let bytes = 0;
  for await (const r of log.records((n) => (bytes += n))) records.push(r);
  return { log, records, bytes };
}

t.test('the format is detected per file; other proxy log lines are passed over', async (t) => {
  const dir = t.testdir({ 'proxy.log': PROXY.join('\n') + '\n', 'access.log': `\n${COMBINED.join('\r\n')}\n` });
  const proxy = await readAll(path.join(dir, 'proxy.log'));
  t.equal(proxy.log.stats.format, 'proxy');
  t.same(proxy.records.map((r) => [r.path, r.target]), [['/api/rooms/1', 'rooms'], ['/', 'legacy']]);
  t.equal(proxy.log.stats.otherLines, 2, 'the startup line and a service\'s own request line');
  t.equal(proxy.log.stats.malformed, 0);
  t.equal(proxy.bytes, proxy.log.size, 'every byte read is reported, for progress');
  const nginx = await readAll(path.join(dir, 'access.log'));
  t.equal(nginx.log.stats.format, 'combined');
  t.same(nginx.records.map((r) => [r.path, r.ms]), [['/api/rooms/1', 4], ['/about', 10]]);
});

t.test('malformed lines are counted, the first few kept with line numbers; the rest is read', async (t) => {
  const lines = [COMBINED[0], 'garbage 1', COMBINED[1], ...Array.from({ length: 7 }, (_, i) => `junk ${i}`), COMBINED[0]];
  const dir = t.testdir({ 'access.log': lines.join('\n') });
  const { log, records } = await readAll(path.join(dir, 'access.log'));
  t.equal(records.length, 3);
  t.equal(log.stats.malformed, 8);
  t.equal(log.stats.examples.length, 5);
  t.match(log.stats.examples[0], { file: path.join(dir, 'access.log'), line: 2, reason: /not in combined format: "garbage 1"/ });
  t.equal(log.stats.examples[1].line, 4);
});

t.test('gzipped logs are read whatever their name', async (t) => {
  const dir = t.testdir();
  await writeFile(path.join(dir, 'access.log.1.gz'), gzipSync(COMBINED.join('\n')));
  await writeFile(path.join(dir, 'rotated'), gzipSync(PROXY.join('\n')));
  t.equal((await readAll(path.join(dir, 'access.log.1.gz'))).records.length, 2);
  const rotated = await readAll(path.join(dir, 'rotated'));
  t.ok(rotated.log.gzip);
  t.equal(rotated.records.length, 2);
});

t.test('--format forces a format: lines of the other one are malformed', async (t) => {
  const dir = t.testdir({ 'mixed.log': [COMBINED[0], PROXY[1]].join('\n') });
  const { log, records } = await readAll(path.join(dir, 'mixed.log'), 'proxy');
  t.equal(records.length, 1);
  t.match(log.stats.examples, [{ line: 1, reason: /^not JSON/ }]);
});

t.test('a file without one request line is an error naming the file and the expected formats', async (t) => {
  const dir = t.testdir({ 'notes.txt': 'hello\nworld\n', 'app.log': PROXY[0] + '\n', 'empty.log': '\n\n' });
  const err = await readAll(path.join(dir, 'notes.txt')).catch((e) => e);
  t.type(err, StranglerError);
  t.equal(err.code, 'STRANGLER_ERR_ACCESS_LOG_INVALID');
  t.match(err.message, path.join(dir, 'notes.txt'));
  t.match(err.message, /line 1: neither a proxy log line nor nginx\/Apache combined: "hello"/);
  t.match(err.message, /"msg":"request completed"/);
  t.match(err.message, /"GET \/api\/rooms\/42 HTTP\/1.1" 200 512/);
  const other = await readAll(path.join(dir, 'app.log')).catch((e) => e);
  t.match(other.message, /none is an access-log line/);
  t.same((await readAll(path.join(dir, 'empty.log'))).records, [], 'an empty file (a log just rotated) is no error');
});

t.test('a missing file and a folder are typed errors', async (t) => {
  const dir = t.testdir({ sub: {} });
  const missing = await openAccessLog(path.join(dir, 'nope.log')).catch((e) => e);
  t.equal(missing.code, 'STRANGLER_ERR_ACCESS_LOG_NOT_FOUND');
  t.match(missing.message, 'nope.log');
  const folder = await openAccessLog(path.join(dir, 'sub')).catch((e) => e);
  t.equal(folder.code, 'STRANGLER_ERR_ACCESS_LOG_UNREADABLE');
});

t.test('a cut-short gzip (still being written or copied) keeps what was read and says where it stopped', async (t) => {
  const dir = t.testdir();
  const gz = gzipSync(COMBINED.join('\n'));
  await writeFile(path.join(dir, 'cut.gz'), gz.subarray(0, gz.length - 8));
  await writeFile(path.join(dir, 'stub.gz'), gz.subarray(0, 20));
  const { log, records } = await readAll(path.join(dir, 'cut.gz'));
  t.equal(records.length, 1, 'the complete first line');
  t.match(log.stats.examples, [{ line: 2, reason: /gzip data is corrupt or cut short .*; the rest of the file was not read/ }]);
  const err = await readAll(path.join(dir, 'stub.gz')).catch((e) => e);
  t.equal(err.code, 'STRANGLER_ERR_ACCESS_LOG_UNREADABLE', 'nothing readable at all: an error');
  t.match(err.message, /gzip data is corrupt or cut short/);
});
