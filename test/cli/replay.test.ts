import { readFile, writeFile } from 'node:fs/promises';
import type http from 'node:http';
import path from 'node:path';
import t, { type Test } from 'tap';
import { runCli } from '../helpers/cli.ts';
import { startUpstream } from '../helpers/http.ts';

/** An upstream answering /api/rooms/:id with JSON; `rename` makes it answer with another key. */
function rooms(rename = false) {
  return (req: http.IncomingMessage, res: http.ServerResponse) => {
    req.resume();
    const id = Number(req.url!.split('/').pop());
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ data: { id, [rename && id === 2 ? 'title' : 'name']: `room ${id}` }, request_id: Math.random().toString(36) }));
  };
}

/** As a browser saves it: absolute URLs, pseudo-headers, a cookie. */
function har(ids: number[]) {
  return JSON.stringify({
    log: {
      version: '1.2',
      creator: { name: 'WebInspector', version: '537.36' },
      entries: ids.map((id) => ({
        startedDateTime: '2026-11-25T10:00:00.000Z',
        request: {
          method: 'GET',
          url: `https://timing.example/api/rooms/${id}`,
          httpVersion: 'h2',
          headers: [
            { name: ':authority', value: 'timing.example' },
            { name: 'accept', value: 'application/json' },
            { name: 'cookie', value: 'PHPSESSID=abc' },
          ],
          queryString: [],
          cookies: [],
          headersSize: -1,
          bodySize: 0,
        },
        response: { status: 200, statusText: '', httpVersion: 'h2', headers: [], cookies: [], content: { size: 0, mimeType: 'application/json' }, redirectURL: '', headersSize: -1, bodySize: -1 },
        cache: {},
        timings: { send: 0, wait: 1, receive: 0 },
      })),
    },
  });
}

async function setup(t: Test, rename: boolean) {
  const legacy = await startUpstream('legacy', rooms());
  const service = await startUpstream('rooms', rooms(rename));
  t.teardown(async () => {
    await legacy.close();
    await service.close();
  });
  const dir = t.testdir();
  const config = path.join(dir, 'routes.yaml');
  await writeFile(config, `legacy: ${legacy.url}\nservices:\n  rooms: ${service.url}\nflags:\n  file: flags.json\nroutes:\n  - name: rooms-get\n    match: GET /api/rooms/:id\n    service: rooms\n`);
  const file = path.join(dir, 'session.har');
  await writeFile(file, har([1, 2, 3, 4]));
  const replay = (...args: string[]) =>
    runCli(['replay', file, '--config', config, '--no-store', '--noise-warmup', '2', '--noise-delay', '0', '--report', path.join(dir, 'report.json'), ...args]);
  return { legacy, service, dir, replay };
}

t.test('a HAR saved from the browser replays against legacy and the service; request ids are learned noise', async (t) => {
  const { legacy, service, dir, replay } = await setup(t, false);
  const res = await replay('--junit', path.join(dir, 'junit.xml'));
  t.equal(res.code, 0, res.stderr);
  t.match(res.stdout, /rooms-get\s+4\s+4\s+0\s+0\s+0\s+100\.00 %/);
  t.match(res.stdout, /noise\s+\$\.request_id/);
  t.equal(service.seen.length, 4, 'each recorded request reached the service once');
  t.equal(legacy.seen.length, 4 + 2, 'and legacy, twice for the noise warm-up');
  t.notOk(legacy.seen.some((r) => r.headers.cookie === '[redacted]'), 'a redacted placeholder is never sent');
  t.match(legacy.seen[0].url, '/api/rooms/');
  const report = JSON.parse(await readFile(path.join(dir, 'report.json'), 'utf8'));
  t.match(report, { source: 'replay', routes: [{ route: 'rooms-get', compared: 4, parity: 100 }] });
  t.match(await readFile(path.join(dir, 'junit.xml'), 'utf8'), /<testcase[^>]*name="rooms-get"/);
});

t.test('--min-parity fails the run when the service differs, naming the path', async (t) => {
  const { replay } = await setup(t, true);
  const res = await replay('--min-parity', '99.5');
  t.equal(res.code, 1, 'exit 1: parity below the threshold');
  t.match(res.stdout, /rooms-get\s+4\s+3\s+1\s+0\s+0\s+75\.00 %/);
  t.match(res.stdout, /differs\s+\$\.data\.name\s+×1\s+e\.g\. GET \/api\/rooms\/2/);
  t.match(res.stderr, /parity below 99\.5 %: rooms-get 75\.00 %/);
  const lenient = await replay('--min-parity', '70');
  t.equal(lenient.code, 0, 'a lower threshold passes');
});

t.test('bad input: a malformed line is named; a missing file too', async (t) => {
  const { dir, replay } = await setup(t, false);
  const bad = path.join(dir, 'bad.jsonl');
  await writeFile(bad, '{"at":"2026-11-25T10:00:00Z","request":{"method":"GET","url":"/api/rooms/1","headers":{}}}\nnot json\n');
  const res = await runCli(['replay', bad, '--config', path.join(dir, 'routes.yaml'), '--no-store']);
  t.equal(res.code, 1);
  t.match(res.stderr, /bad\.jsonl:2: /);
  t.match(res.stderr, /STRANGLER_ERR_TRAFFIC_INVALID/);
  const missing = await runCli(['replay', path.join(dir, 'nope.jsonl'), '--config', path.join(dir, 'routes.yaml')]);
  t.equal(missing.code, 1);
  t.match(missing.stderr, /nope\.jsonl/);
  const usage = await replay('--concurrency', '0');
  t.equal(usage.code, 2);
  t.match(usage.stderr, /--concurrency must be a whole number >= 1/);
});

/**
 * An upstream answering /api/<kind>/:id with JSON after `latencyMs` (a slow backend, so
 * requests overlap when several are sent), noting when each request arrived and how many were
 * in flight at most.
 */
function tracked(name: string, latencyMs = 30) {
  const starts: Array<{ url: string; at: number }> = [];
  let inFlight = 0;
  const state = { maxInFlight: 0, starts };
  const handler = (req: http.IncomingMessage, res: http.ServerResponse) => {
    starts.push({ url: req.url!, at: performance.now() });
    inFlight++;
    state.maxInFlight = Math.max(state.maxInFlight, inFlight);
    res.on('close', () => inFlight--);
    req.resume();
    const timer = setTimeout(() => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ data: { url: req.url, from: name === 'faulty' ? 'other' : 'same' } }));
    }, latencyMs);
    res.on('close', () => clearTimeout(timer));
  };
  return { state, handler };
}

/** Two routes (rooms-get, diaries-get) and a JSONL recording of `rooms` room and `diaries` diary requests, interleaved. */
async function setupTwoRoutes(t: Test, opts: { rooms: number; diaries: number; faultyRooms?: boolean }) {
  const legacy = tracked('legacy');
  const rooms = tracked(opts.faultyRooms ? 'faulty' : 'rooms');
  const diaries = tracked('diaries');
  const servers = await Promise.all([startUpstream('legacy', legacy.handler), startUpstream('rooms', rooms.handler), startUpstream('diaries', diaries.handler)]);
  t.teardown(() => Promise.all(servers.map((s) => s.close())));
  const [legacyServer, roomsServer, diariesServer] = servers;
  const dir = t.testdir();
  const config = path.join(dir, 'routes.yaml');
  await writeFile(
    config,
    `legacy: ${legacyServer.url}\nservices:\n  rooms: ${roomsServer.url}\n  diaries: ${diariesServer.url}\nflags:\n  file: flags.json\nroutes:\n` +
      '  - name: rooms-get\n    match: GET /api/rooms/:id\n    service: rooms\n    stage: shadow\n' +
      '  - name: diaries-get\n    match: GET /api/diaries/:id\n    service: diaries\n    stage: shadow\n',
  );
  const lines: string[] = [];
  for (let i = 1; i <= Math.max(opts.rooms, opts.diaries); i++) {
    if (i <= opts.rooms) lines.push(JSON.stringify({ at: '2026-11-25T10:00:00Z', request: { method: 'GET', url: `/api/rooms/${i}`, headers: { accept: 'application/json' } } }));
    if (i <= opts.diaries) lines.push(JSON.stringify({ at: '2026-11-25T10:00:00Z', request: { method: 'GET', url: `/api/diaries/${i}`, headers: { accept: 'application/json' } } }));
  }
  const file = path.join(dir, 'traffic.jsonl');
  await writeFile(file, lines.join('\n') + '\n');
  const report = path.join(dir, 'report.json');
  const replay = (...args: string[]) => runCli(['replay', file, '--config', config, '--no-store', '--noise-warmup', '0', '--min-parity', '0', '--report', report, ...args]);
  return { legacy: legacy.state, rooms: rooms.state, diaries: diaries.state, dir, report, replay };
}

t.test('replay --route replays only that route; the other requests are reported as not replayed', async (t) => {
  const { legacy, rooms, diaries, report, replay } = await setupTwoRoutes(t, { rooms: 3, diaries: 4 });
  const res = await replay('--route', 'diaries-get');
  t.equal(res.code, 0, res.stderr);
  t.equal(diaries.starts.length, 4, 'every diary request reached the diaries service');
  t.equal(rooms.starts.length, 0, 'no room request reached the rooms service');
  t.ok(legacy.starts.every((s) => s.url.startsWith('/api/diaries/')), 'legacy got only diary requests');
  t.match(res.stdout, /diaries-get\s+4\s+4\s+0\s+0\s+0\s+100\.00 %/);
  t.match(res.stdout, /3 recorded request\(s\) matched no route "diaries-get" and were not replayed/);
  const written = JSON.parse(await readFile(report, 'utf8'));
  t.same(written.routes.map((r: { route: string }) => r.route), ['diaries-get'], 'the report holds that route only');
  const unknown = await replay('--route', 'diary');
  t.equal(unknown.code, 1);
  t.match(unknown.stderr, /no route named "diary" in routes\.yaml; routes are: rooms-get, diaries-get/);
});

t.test('replay --concurrency 1 keeps at most one request in flight at each upstream; 4 lets them overlap', async (t) => {
  const one = await setupTwoRoutes(t, { rooms: 8, diaries: 0 });
  const res = await one.replay('--concurrency', '1');
  t.equal(res.code, 0, res.stderr);
  t.equal(one.legacy.starts.length, 8);
  t.equal(one.legacy.maxInFlight, 1, 'legacy never had two replayed requests at once');
  t.equal(one.rooms.maxInFlight, 1, 'nor had the service');
  // the control: the same upstreams do see overlap when replay is allowed it
  const four = await setupTwoRoutes(t, { rooms: 8, diaries: 0 });
  t.equal((await four.replay('--concurrency', '4')).code, 0);
  t.ok(four.legacy.maxInFlight > 1, `with --concurrency 4 requests overlap (${four.legacy.maxInFlight} at once)`);
  t.ok(four.legacy.maxInFlight <= 4, 'but never beyond 4');
});

t.test('replay --rate paces the starts even with spare concurrency', async (t) => {
  const { legacy, replay } = await setupTwoRoutes(t, { rooms: 6, diaries: 0 });
  const res = await replay('--rate', '10', '--concurrency', '4');
  t.equal(res.code, 0, res.stderr);
  const starts = legacy.starts;
  t.same(starts.map((s) => s.url), [1, 2, 3, 4, 5, 6].map((i) => `/api/rooms/${i}`), 'paced requests start in recorded order');
  t.ok(starts.every((s, i) => i === 0 || s.at >= starts[i - 1].at), 'each one after the one before');
  // 10/s: the sixth starts 500 ms after the first. A lenient lower bound: timers are never
  // early, but the first request may arrive late (it alone also opens a connection)
  const span = starts[5].at - starts[0].at;
  t.ok(span >= 300, `six starts at 10/s span ${Math.round(span)} ms (at least 300 ms; gaps ${starts.slice(1).map((s, i) => Math.round(s.at - starts[i].at))})`);
});

t.test('replay --html and diff report --from the replay report write the mismatch with its differing path', async (t) => {
  const { dir, report, replay } = await setupTwoRoutes(t, { rooms: 3, diaries: 2, faultyRooms: true });
  const html = path.join(dir, 'out', 'replay.html');
  const res = await replay('--html', html);
  t.equal(res.code, 0, res.stderr);
  t.match(res.stdout, /rooms-get\s+3\s+0\s+3\s+0\s+0\s+0\.00 %/);
  const page = await readFile(html, 'utf8');
  t.match(page, /class="node diff" data-path="\$\.data\.from"/, 'replay --html highlights the differing node');
  t.match(page, /rooms-get/);

  const fromHtml = path.join(dir, 'diff', 'report.html');
  const fromJunit = path.join(dir, 'diff', 'report.xml');
  const diff = await runCli(['diff', 'report', '--from', report, '--html', fromHtml, '--junit', fromJunit]);
  t.equal(diff.code, 0, diff.stderr);
  t.match(diff.stdout, /2 route\(s\), 1 below 99\.5 %/);
  const diffPage = await readFile(fromHtml, 'utf8');
  t.match(diffPage, /class="node diff" data-path="\$\.data\.from"/, 'diff report --from shows the same differing node');
  t.match(diffPage, /class="j-str">&quot;same&quot;/, "legacy's value is shown");
  t.match(diffPage, /class="j-str">&quot;other&quot;/, "and the service's");
  const junit = await readFile(fromJunit, 'utf8');
  t.match(junit, /<testcase[^>]*name="rooms-get"[^>]*>\s*<failure message="parity/, 'the mismatching route fails in JUnit');
  t.match(junit, /<testcase[^>]*name="diaries-get"[^>]*\/>|<testcase[^>]*name="diaries-get"[^>]*><\/testcase>/, 'the matching route passes');

  const only = await runCli(['diff', 'report', 'diaries-get', '--from', report, '--html', fromHtml, '--junit', fromJunit]);
  t.equal(only.code, 0, only.stderr);
  const onlyPage = await readFile(fromHtml, 'utf8');
  t.notMatch(onlyPage, /class="node diff"/, 'a route argument leaves the mismatching route out');
  t.notMatch(onlyPage, /rooms-get/);
});
