import type http from 'node:http';
import t, { type Test } from 'tap';
import { closedPort, eventually, request, startUpstream } from '../helpers/http.ts';
import { on, startTestProxy } from '../helpers/proxy.ts';
import { buildStoredParityReport } from '../../proxy/parity/build-parity-report.ts';
import { renderHtmlReport } from '../../proxy/report/html-report.ts';
import { renderJunitReport } from '../../proxy/report/junit-report.ts';
import type { ComparisonStore } from '../../proxy/parity/comparison-store.ts';

/** An upstream answering JSON built from the request. */
function json(body: (req: http.IncomingMessage, text: string) => unknown, status = 200) {
  return (req: http.IncomingMessage, res: http.ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body(req, Buffer.concat(chunks).toString())));
    });
  };
}

/** the test's shadow: keys over quick defaults (no noise calls, 300 ms timeout) */
function shadowKeys(extra = ''): string {
  const keys = new Map([['noiseWarmup', '0'], ['noiseSample', '0%'], ['timeout', '300ms']]);
  for (const pair of extra.split(',').filter(Boolean)) {
    const [k, v] = pair.split(':').map((x) => x.trim());
    keys.set(k, v);
  }
  return [...keys].map(([k, v]) => `${k}: ${v}`).join(', ');
}

const ROOM = { id: 7, name: 'Quiet room', members: 3 };

/**
 * A candidate that holds every request until release() (then answers with `answer`, default
 * ROOM), noting when a request arrived and when the proxy gave up on it.
 */
function held(answer: (req: http.IncomingMessage, res: http.ServerResponse) => void = json(() => ROOM)) {
  const events: string[] = [];
  const waiting: Array<() => void> = [];
  let released = false;
  return {
    events,
    handler(req: http.IncomingMessage, res: http.ServerResponse) {
      events.push('received');
      res.on('close', () => {
        if (!res.writableFinished) events.push('closed');
      });
      if (released) answer(req, res);
      else waiting.push(() => answer(req, res));
    },
    release() {
      released = true;
      for (const go of waiting.splice(0)) go();
    },
  };
}

/** What the store holds right now: kept comparisons and counted ones. */
async function storedNow(store: ComparisonStore) {
  await store.flush();
  return { rows: (await store.list({ limit: 100 })).length, counts: await store.counts({}) };
}

// a copy that fails must end as a stored outcome, never as a process-level error
const processErrors: unknown[] = [];
process.on('unhandledRejection', (err) => processErrors.push(err));
process.on('uncaughtException', (err) => processErrors.push(err));
async function assertNoProcessErrors(t: Test) {
  // an unhandled rejection is reported after the microtask queue drains
  await new Promise((resolve) => setImmediate(resolve));
  t.same(processErrors.map(String), [], 'no unhandled rejection or uncaught exception');
}

async function setup(
  t: Test,
  opts: { legacy?: Parameters<typeof startUpstream>[1]; candidate?: Parameters<typeof startUpstream>[1]; candidateUrl?: string; shadow?: string; match?: string; extra?: string; sandbox?: Parameters<typeof startUpstream>[1] },
) {
  const legacy = await startUpstream('legacy', opts.legacy ?? json(() => ROOM));
  const rooms = await startUpstream('rooms', opts.candidate ?? json(() => ROOM));
  const sandbox = await startUpstream('sandbox', opts.sandbox ?? json(() => ({ ok: true })));
  const proxy = await startTestProxy({
    dir: t.testdir(),
    legacy: legacy.url,
    services: { rooms: opts.candidateUrl ?? rooms.url, 'rooms-sandbox': `{ url: ${sandbox.url}, sandbox: true }` },
    extra: opts.extra ?? 'comparisons:\n  database: sqlite:comparisons.sqlite',
    routes: `
  - name: rooms
    match: ${opts.match ?? 'GET /api/rooms/:id'}
    service: rooms
    stage: shadow
    shadow: { ${shadowKeys(opts.shadow)} }
`,
  });
  t.teardown(async () => {
    await proxy.close();
    await Promise.all([legacy.close(), rooms.close(), sandbox.close()]);
  });
  const store = proxy.proxy.store!;
  const stored = async (n: number) => {
    await proxy.proxy.state.shadow.idle();
    return eventually(async () => {
      await store.flush();
      const rows = await store.list({ limit: 100 });
      return rows.length >= n ? rows : undefined;
    });
  };
  /** outcome → count, and skip reason → count, once every copy is done and written */
  const outcomes = async () => {
    await proxy.proxy.state.shadow.idle();
    await store.flush();
    const counts: Record<string, number> = {};
    for (const c of await store.counts({})) counts[c.outcome] = (counts[c.outcome] ?? 0) + c.n;
    const skipped: Record<string, number> = {};
    for (const r of await store.skipReasons({})) skipped[r.reason] = r.n;
    return { counts, skipped };
  };
  return { legacy, rooms, sandbox, proxy, store, stored, outcomes };
}


t.test('shadow: the client gets legacy, the service gets a copy, equal answers are a stored match', async (t) => {
  const { legacy, rooms, proxy, outcomes } = await setup(t, {});
  const reply = await request(`${proxy.url}/api/rooms/7`, { headers: { 'x-user-id': 'u1' } });
  t.equal(reply.status, 200);
  t.same(reply.json(), ROOM);
  t.equal(reply.headers['x-strangler-target'], 'legacy');
  t.same((await outcomes()).counts, { match: 1 }, 'one match, counted');
  const [example] = await proxy.proxy.store!.list({ outcome: 'match', limit: 10 });
  t.match(example, { route: 'rooms', outcome: 'match', primary: 'legacy', request: { method: 'GET', url: '/api/rooms/7' }, legacy: { status: 200 }, serviceResponse: { status: 200 } }, 'the first match is kept whole as the route\'s example');
  t.equal(legacy.seen.length, 1);
  t.equal(rooms.seen.length, 1, 'the service got exactly one copy');
  t.equal(rooms.seen[0].headers['x-strangler-copy'], '1', 'the copy is marked');
  t.equal(rooms.seen[0].url, '/api/rooms/7');
});

t.test('a real difference is a mismatch naming the path and both values', async (t) => {
  const { proxy, stored } = await setup(t, { candidate: json(() => ({ ...ROOM, members: 4 })) });
  const reply = await request(`${proxy.url}/api/rooms/7`);
  t.same(reply.json(), ROOM, 'the client still gets legacy');
  const [row] = await stored(1);
  t.match(row, { route: 'rooms', source: 'shadow', outcome: 'mismatch', primary: 'legacy', service: 'rooms', request: { method: 'GET', url: '/api/rooms/7' } });
  t.same(row.differences, [{ path: '$.members', kind: 'changed', primary: 3, candidate: 4 }]);
  t.same(JSON.parse(row.legacy!.body), ROOM, "legacy's answer is kept for the side-by-side view");
  t.same(JSON.parse(row.serviceResponse!.body), { ...ROOM, members: 4 });
});

t.test('a hung candidate never delays the client: the answer arrives while its copy is still in flight', async (t) => {
  const candidate = held();
  // the copy's timeout is longer than anything this test waits for: only the ordering can pass it
  const { rooms, proxy, store } = await setup(t, { candidate: candidate.handler, shadow: 'timeout: 60s' });
  const reply = await request(`${proxy.url}/api/rooms/7`);
  const atAnswer = proxy.proxy.state.shadow.stats();
  t.equal(reply.status, 200);
  t.same(reply.json(), ROOM);
  t.equal(atAnswer.inFlight, 1, 'the copy was still in flight when the client had its answer');
  t.same(candidate.events, ['received'], 'the candidate had the copy and had not answered');
  t.same(await storedNow(store), { rows: 0, counts: [] }, 'nothing is compared or stored before the candidate answers');
  t.equal(rooms.seen.length, 1);
  await assertNoProcessErrors(t);
});

t.test('a candidate that never answers within shadow.timeout ends as candidate-error, nothing left pending', async (t) => {
  const candidate = held();
  const { proxy, stored } = await setup(t, { candidate: candidate.handler, shadow: 'timeout: 300ms' });
  t.equal((await request(`${proxy.url}/api/rooms/7`)).status, 200);
  const [row] = await stored(1);
  t.equal(row.outcome, 'candidate-error');
  t.match(row.reason, /abort|timeout/i);
  await eventually(() => candidate.events.length === 2);
  t.same(candidate.events, ['received', 'closed'], 'the proxy gave up on the copy; the candidate never answered');
  t.equal(proxy.proxy.state.shadow.stats().inFlight, 0, 'nothing left pending');
  await assertNoProcessErrors(t);
});

t.test('a candidate answering 500 is a candidate-error, recorded only after the client got legacy', async (t) => {
  const candidate = held(json(() => ({ error: 'boom' }), 500));
  const { proxy, store, stored } = await setup(t, { candidate: candidate.handler, shadow: 'timeout: 60s' });
  const reply = await request(`${proxy.url}/api/rooms/7`);
  t.equal(proxy.proxy.state.shadow.stats().inFlight, 1, 'the 500 had not been sent when the client had its answer');
  t.equal(reply.status, 200);
  t.same(reply.json(), ROOM);
  t.same(await storedNow(store), { rows: 0, counts: [] }, 'no comparison yet');
  candidate.release();
  const [row] = await stored(1);
  t.equal(row.outcome, 'candidate-error');
  t.match(row.reason, /candidate answered 500/);
  await assertNoProcessErrors(t);
});

t.test('a candidate refusing connections is a candidate-error; the client still gets legacy', async (t) => {
  const { proxy, stored } = await setup(t, { candidateUrl: `http://127.0.0.1:${await closedPort()}` });
  const reply = await request(`${proxy.url}/api/rooms/7`);
  t.equal(reply.status, 200);
  t.same(reply.json(), ROOM);
  const [row] = await stored(1);
  t.equal(row.outcome, 'candidate-error');
  t.match(row.reason, /ECONNREFUSED/);
  await assertNoProcessErrors(t);
});

t.test('copies in flight are bounded: the excess is skipped and counted, clients all served while the copies hang', async (t) => {
  const candidate = held(json(() => ROOM));
  const { rooms, proxy, outcomes } = await setup(t, {
    extra: 'comparisons:\n  database: sqlite:comparisons.sqlite\n  maxConcurrent: 2',
    shadow: 'timeout: 60s',
    candidate: candidate.handler,
  });
  const replies = await Promise.all(Array.from({ length: 10 }, (_, i) => request(`${proxy.url}/api/rooms/${i}`)));
  const atAnswers = proxy.proxy.state.shadow.stats();
  t.same(replies.map((r) => r.status), Array(10).fill(200));
  t.equal(atAnswers.inFlight, 2, 'every client had its answer while the 2 admitted copies still hung');
  t.equal(atAnswers.highWater, 2, 'never more than the bound in flight');
  t.equal(atAnswers.started, 2);
  t.equal(atAnswers.skipped.concurrency, 8, 'the other 8 copies were skipped, not queued');
  candidate.release();
  const { counts, skipped } = await outcomes();
  t.same(skipped, { concurrency: 8 }, 'skips are stored with their reason');
  t.same(counts, { match: 2, skipped: 8 }, 'the 2 copies compared once the candidate answered');
  t.equal(rooms.seen.length, 2, 'the candidate saw only the admitted copies');
  await assertNoProcessErrors(t);
});

t.test('writes are never copied without a sandbox', async (t) => {
  const { legacy, rooms, proxy, outcomes } = await setup(t, { match: 'GET,POST /api/rooms/:id' });
  const reply = await request(`${proxy.url}/api/rooms/7`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"name":"x"}' });
  t.equal(reply.status, 200);
  t.same((await outcomes()).skipped, { 'write-not-copied': 1 });
  t.equal(legacy.seen.length, 1);
  t.equal(rooms.seen.length, 0, 'the service never saw the POST');
});

t.test('with a sandbox named in shadow.writes, writes are copied there only, redacted in storage', async (t) => {
  const { rooms, sandbox, proxy, stored } = await setup(t, {
    match: 'GET,POST /api/rooms/:id',
    shadow: 'writes: rooms-sandbox',
    legacy: json((_req, text) => ({ ok: true, echo: JSON.parse(text) })),
    // the sandbox answers differently, so the comparison is kept whole (matches are only counted)
    sandbox: json((_req, text) => ({ ok: true, echo: JSON.parse(text), sandbox: true })),
  });
  const body = JSON.stringify({ name: 'x', password: 'hunter2-secret' });
  const reply = await request(`${proxy.url}/api/rooms/7`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: 'Bearer tok-secret-123' },
    body,
  });
  t.equal(reply.status, 200);
  const [row] = await stored(1);
  t.equal(rooms.seen.length, 0, 'the real service never saw the write');
  t.equal(sandbox.seen.length, 1);
  t.equal(row.outcome, 'mismatch');
  t.same(JSON.parse(row.request.body!), { name: 'x', password: '[redacted]' }, 'the request body is kept, redacted');
  const text = JSON.stringify(row);
  t.notMatch(text, 'hunter2-secret', 'password never stored');
  t.notMatch(text, 'tok-secret-123', 'authorization never stored');
  t.equal(row.request.headers.authorization, '[redacted]');
  const report = await buildStoredParityReport(proxy.proxy.store!, { since: 0 });
  const html = renderHtmlReport(report);
  t.match(html, /\$\.sandbox/, 'the report shows the mismatch');
  t.notMatch(html + renderJunitReport(report, { minParity: 99 }), /hunter2-secret|tok-secret-123/, 'and neither secret');
});

t.test('a request body over shadow.maxRequestBody is not copied', async (t) => {
  const { sandbox, proxy, outcomes } = await setup(t, { match: 'POST /api/rooms/:id', shadow: 'writes: rooms-sandbox, maxRequestBody: 1kb', legacy: json(() => ({ ok: true })) });
  const reply = await request(`${proxy.url}/api/rooms/7`, { method: 'POST', body: 'x'.repeat(5000) });
  t.equal(reply.status, 200);
  t.same((await outcomes()).skipped, { 'request-body-too-large': 1 });
  t.equal(sandbox.seen.length, 0);
});

t.test('noise learned from legacy answering twice is not a mismatch', async (t) => {
  let n = 0;
  const noisy = () => ({ ...ROOM, request_id: `r${++n}`, generated_at: new Date(Date.now() + n).toISOString() });
  const { legacy, proxy, outcomes } = await setup(t, { legacy: json(noisy), candidate: json(noisy), shadow: 'noiseWarmup: 5, noiseDelay: 0' });
  // the first comparison of a route cannot know its noise yet: it is a mismatch, then it is learned
  t.equal((await request(`${proxy.url}/api/rooms/7`)).status, 200);
  await outcomes();
  await proxy.proxy.state.shadow.noiseIdle();
  for (let i = 0; i < 4; i++) t.equal((await request(`${proxy.url}/api/rooms/7`)).status, 200);
  await proxy.proxy.state.shadow.noiseIdle();
  t.same((await outcomes()).counts, { mismatch: 1, match: 4 }, 'once learned, noise is not a mismatch');
  t.equal(legacy.seen.length, 10, 'legacy answered each copied request twice during warm-up');
  const learned = proxy.proxy.state.shadow.learner.report('rooms').entries.map((e) => e.pattern).sort();
  t.same(learned, ['$.generated_at', '$.request_id']);
  const noise = await eventually(async () => {
    await proxy.proxy.store!.flush();
    const byRoute = await proxy.proxy.store!.noise('rooms');
    return byRoute.get('rooms')?.length === 2 ? byRoute : undefined;
  });
  t.ok(noise, 'learned noise is stored for the parity report');
});

t.test('a route in stage legacy copies nothing; cutover answers from the service', async (t) => {
  const legacy = await startUpstream('legacy');
  const rooms = await startUpstream('rooms');
  const proxy = await startTestProxy({
    dir: t.testdir(),
    legacy: legacy.url,
    services: { rooms: rooms.url },
    routes: `
  - name: old
    match: GET /old
    service: rooms
    stage: legacy
  - name: moved
    match: GET /moved
    service: rooms
    stage: cutover
`,
  });
  t.teardown(async () => {
    await proxy.close();
    await legacy.close();
    await rooms.close();
  });
  t.equal((await request(`${proxy.url}/old`)).json().upstream, 'legacy');
  t.equal((await request(`${proxy.url}/moved`)).json().upstream, 'rooms');
  t.equal(rooms.seen.length, 1);
  t.equal(proxy.proxy.store, null, 'no route compares, so no store is opened');
});

t.test('canary with shadow.reverse: when the service answers, legacy gets the copy, still compared legacy → service', async (t) => {
  const legacy = await startUpstream('legacy', json(() => ROOM));
  const rooms = await startUpstream('rooms', json(() => ({ ...ROOM, name: 'Loud room' })));
  const proxy = await startTestProxy({
    dir: t.testdir(),
    legacy: legacy.url,
    services: { rooms: rooms.url },
    features: [on('rooms')],
    extra: 'comparisons:\n  database: sqlite:comparisons.sqlite',
    routes: `
  - name: rooms
    match: GET /api/rooms/:id
    service: rooms
    stage: canary
    shadow: { reverse: true, noiseWarmup: 0, noiseSample: 0% }
`,
  });
  t.teardown(async () => {
    await proxy.close();
    await legacy.close();
    await rooms.close();
  });
  const reply = await request(`${proxy.url}/api/rooms/7`);
  t.equal(reply.headers['x-strangler-target'], 'rooms', 'the flag is on: the service answers');
  t.equal(reply.json().name, 'Loud room');
  await proxy.proxy.state.shadow.idle();
  const [row] = await eventually(async () => {
    await proxy.proxy.store!.flush();
    const rows = await proxy.proxy.store!.list({ limit: 10 });
    return rows.length ? rows : undefined;
  });
  t.equal(legacy.seen.length, 1, 'legacy got the copy');
  t.equal(legacy.seen[0].headers['x-strangler-copy'], '1');
  t.match(row, { outcome: 'mismatch', primary: 'rooms' });
  t.same(row.differences, [{ path: '$.name', kind: 'changed', primary: 'Quiet room', candidate: 'Loud room' }], 'primary = legacy side, candidate = service side');
});

t.test('no copy, including those still in flight when their proxy closed, ended as a process-level error', async (t) => {
  await assertNoProcessErrors(t);
});
