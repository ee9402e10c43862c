import type http from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { brotliCompressSync, deflateRawSync, deflateSync, gzipSync } from 'node:zlib';
import t from 'tap';
import { Pool } from 'undici';
import { callUpstream } from '../../proxy/shadow/call-upstream.ts';
import { request } from '../helpers/http.ts';
import { startShadowFixture } from './shadow-fixture.ts';

/**
 * Defect 1 of issue 15: a legacy that compresses for the browser (Accept-Encoding: gzip, br)
 * and a service that does not were a mismatch at `body` on every request.
 */

const BROWSER = { 'accept-encoding': 'gzip, deflate, br' };
const ROOM = { id: 7, name: 'Quiet room', members: [1, 2, 3], about: 'A room for reading. '.repeat(20) };

const CODERS: Record<string, (b: Buffer) => Buffer> = {
  gzip: gzipSync,
  deflate: deflateSync,
  'deflate (raw, as old IIS and some PHP setups send it)': deflateRawSync,
  br: brotliCompressSync,
};

/** Answers JSON coded with `coding` (the Content-Encoding token) after `delayMs`, as nginx would. */
function coded(coding: string, body: () => unknown, delayMs = 0, code: (b: Buffer) => Buffer = CODERS[coding]) {
  return (req: http.IncomingMessage, res: http.ServerResponse) => {
    req.resume();
    req.on('end', async () => {
      if (delayMs) await sleep(delayMs);
      res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-encoding': coding, vary: 'Accept-Encoding' });
      res.end(code(Buffer.from(JSON.stringify(body()))));
    });
  };
}

function plain(body: () => unknown) {
  return (req: http.IncomingMessage, res: http.ServerResponse) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' });
      res.end(JSON.stringify(body()));
    });
  };
}

for (const [name, code] of Object.entries(CODERS)) {
  const coding = name.split(' ')[0];
  t.test(`a slow legacy answering ${name} and a service answering identity are a match`, async (t) => {
    const { proxy, outcomes } = await startShadowFixture(t, {
      legacy: coded(coding, () => ROOM, 120, code),
      candidate: plain(() => ROOM),
    });
    const reply = await request(`${proxy.url}/api/rooms/7`, { headers: BROWSER });
    t.equal(reply.status, 200);
    t.equal(reply.headers['content-encoding'], coding, 'the client still gets the coded answer, untouched');
    t.same(await outcomes(), { match: 1 });
  });
}

t.test('a difference inside a gzipped answer is a mismatch naming its JSON path; the stored legacy body is decoded', async (t) => {
  const { proxy, outcomes, store } = await startShadowFixture(t, {
    legacy: coded('gzip', () => ROOM, 120),
    candidate: plain(() => ({ ...ROOM, name: 'Quiet Room' })),
  });
  t.equal((await request(`${proxy.url}/api/rooms/7`, { headers: BROWSER })).status, 200);
  t.same(await outcomes(), { mismatch: 1 });
  const [record] = await store.list({ limit: 10 });
  t.same(
    record.differences.map((d) => [d.path, d.primary, d.candidate]),
    [['$.name', 'Quiet room', 'Quiet Room']],
  );
  t.equal(record.legacy?.bodyEncoding, 'utf8', 'stored as text, not as gzip bytes');
  t.same(JSON.parse(record.legacy!.body), ROOM);
  t.equal(record.legacy?.decodedFrom, 'gzip');
  t.equal(record.legacy?.headers['content-encoding'], 'gzip', 'the header is kept as legacy sent it');
});

t.test('Content-Encoding is compared only when a header rule lists it', async (t) => {
  const { proxy, outcomes, store } = await startShadowFixture(t, {
    legacy: coded('gzip', () => ROOM),
    candidate: plain(() => ROOM),
    route: '    compare: { headers: [content-type, content-encoding] }\n',
  });
  t.equal((await request(`${proxy.url}/api/rooms/7`, { headers: BROWSER })).status, 200);
  t.same(await outcomes(), { mismatch: 1 });
  const [record] = await store.list({ limit: 10 });
  t.same(
    record.differences.map((d) => d.path),
    ['headers.content-encoding'],
    'the header differs, the decoded bodies do not',
  );
});

t.test('a candidate whose body does not decode as its Content-Encoding says is a mismatch at body, not a crash', async (t) => {
  const { proxy, outcomes, store } = await startShadowFixture(t, {
    legacy: coded('gzip', () => ROOM),
    candidate: coded('gzip', () => ROOM, 0, (b) => b),
  });
  t.equal((await request(`${proxy.url}/api/rooms/7`, { headers: BROWSER })).status, 200);
  t.same(await outcomes(), { mismatch: 1 });
  const [record] = await store.list({ limit: 10 });
  t.equal(record.differences[0].path, 'body');
  t.match(record.differences[0].candidate, /undecodable.*not valid gzip/);
});

t.test('a legacy body that does not decode is a skipped comparison with its reason', async (t) => {
  const { proxy, outcomes, store } = await startShadowFixture(t, {
    legacy: coded('br', () => ROOM, 0, (b) => b),
    candidate: plain(() => ROOM),
  });
  t.equal((await request(`${proxy.url}/api/rooms/7`, { headers: BROWSER })).status, 200);
  t.same(await outcomes(), { skipped: 1 });
  t.same(await store.skipReasons({}), [{ route: 'rooms', reason: 'body not compared', n: 1 }]);
});

t.test('noise is learned inside gzipped answers, by path, never as `body`', async (t) => {
  let n = 0;
  const noisy = () => ({ ...ROOM, generated_at: new Date(Date.now() + ++n).toISOString() });
  const { proxy, outcomes } = await startShadowFixture(t, {
    legacy: coded('gzip', noisy),
    candidate: plain(noisy),
    shadow: 'noiseWarmup: 5, noiseSample: 0%, noiseDelay: 0',
  });
  t.equal((await request(`${proxy.url}/api/rooms/7`, { headers: BROWSER })).status, 200);
  await outcomes();
  await proxy.proxy.state.shadow.noiseIdle();
  for (let i = 0; i < 3; i++) t.equal((await request(`${proxy.url}/api/rooms/7`, { headers: BROWSER })).status, 200);
  await proxy.proxy.state.shadow.noiseIdle();
  t.same(await outcomes(), { mismatch: 1, match: 3 });
  const learned = proxy.proxy.state.shadow.learner.report('rooms').entries.map((e) => `${e.kind} ${e.pattern}`);
  t.same(learned, ['value $.generated_at']);
});

t.test('a decompression bomb costs the capture cap, not its size: the comparison is skipped as cut', async (t) => {
  // 16 gzip members of 64 MiB of zeros: 1 GiB once decoded, about 1 MB on the wire
  const member = gzipSync(Buffer.alloc(64 * 1024 * 1024));
  const bomb = (req: http.IncomingMessage, res: http.ServerResponse) => {
    req.resume();
    req.on('end', async () => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' });
      for (let i = 0; i < 16; i++) if (!res.write(member)) await new Promise((resolve) => res.once('drain', resolve));
      res.end();
    });
  };
  const { proxy, outcomes, store, legacy } = await startShadowFixture(t, { legacy: bomb, candidate: bomb, comparisons: '  captureLimit: 4mb\n' });
  const before = process.memoryUsage().rss;
  const reply = await request(`${proxy.url}/api/rooms/7`, { headers: BROWSER });
  t.equal(reply.status, 200);
  t.equal(reply.body.length, member.length * 16, 'the client got every coded byte');
  t.same(await outcomes(), { skipped: 1 });
  const grown = process.memoryUsage().rss - before;
  t.ok(grown < 256 * 1024 * 1024, `memory grew by ${Math.round(grown / 1048576)} MiB, far below the 1 GiB the bomb holds`);
  t.same(await store.skipReasons({}), [{ route: 'rooms', reason: 'body not compared', n: 1 }]);

  // what the comparison was given: the first captureLimit bytes of the decoded body, marked cut
  const pool = new Pool(legacy.url);
  t.teardown(() => pool.destroy());
  const { response } = await callUpstream(pool, { method: 'GET', path: '/api/rooms/7', headers: BROWSER, body: null, timeoutMs: 10_000, captureLimit: 4 * 1024 * 1024 });
  t.equal(response.body.length, 4 * 1024 * 1024);
  t.equal(response.truncated, true);
  t.equal(response.decodedFrom, 'gzip');
  t.ok(response.body.every((b) => b === 0), 'the decoded zeros, not the coded bytes');
});
