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
