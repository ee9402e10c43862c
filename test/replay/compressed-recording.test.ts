import { readFile, writeFile } from 'node:fs/promises';
import type http from 'node:http';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { gzipSync } from 'node:zlib';
import t from 'tap';
import { readTraffic } from '../../proxy/replay/read-traffic.ts';
import { runCli } from '../helpers/cli.ts';
import { request, startUpstream } from '../helpers/http.ts';
import { startTestProxy } from '../helpers/proxy.ts';

/**
 * Defect 1 of issue 15, replay side: traffic recorded from a browser carries
 * Accept-Encoding: gzip, so legacy gzips its answers when the recording is made and again when
 * it is replayed; the service answers identity. Decoded, they are the same answer.
 */

/** A slow legacy gzipping for clients that accept it, as nginx with gzip on does. */
function gzipping(body: (id: number) => unknown) {
  return (req: http.IncomingMessage, res: http.ServerResponse) => {
    req.resume();
    req.on('end', async () => {
      await sleep(100);
      const json = Buffer.from(JSON.stringify(body(Number(req.url!.split('/').pop()))));
      if (/\bgzip\b/.test(String(req.headers['accept-encoding']))) {
        res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip', vary: 'Accept-Encoding' });
        res.end(gzipSync(json));
      } else {
        res.writeHead(200, { 'content-type': 'application/json', vary: 'Accept-Encoding' });
        res.end(json);
      }
    });
  };
}

t.test('a recording of gzipped answers replays at 100 % parity against a service answering identity', async (t) => {
  const room = (id: number) => ({ data: { id, name: `room ${id}`, about: 'quiet, with a view '.repeat(10) } });
  const legacy = await startUpstream('legacy', gzipping(room));
  const service = await startUpstream('rooms', (req, res) => {
    req.resume();
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(room(Number(req.url!.split('/').pop()))));
  });
  t.teardown(async () => {
    await legacy.close();
    await service.close();
  });
  const dir = t.testdir();
  const proxy = await startTestProxy({
    dir,
    legacy: legacy.url,
    services: { rooms: service.url },
    extra: 'recording:\n  file: traffic.jsonl\n  maxBody: 64kb',
    routes: `
  - name: rooms-get
    match: GET /api/rooms/:id
    service: rooms
    record: 100%
`,
  });
  for (const id of [1, 2, 3]) {
    const reply = await request(`${proxy.url}/api/rooms/${id}`, { headers: { 'accept-encoding': 'gzip, deflate, br', accept: 'application/json' } });
    t.equal(reply.headers['content-encoding'], 'gzip', 'the browser got gzip');
  }
  await proxy.close();

  const file = path.join(dir, 'traffic.jsonl');
  const lines = [];
  for await (const line of readTraffic(file)) lines.push(line);
  t.equal(lines.length, 3);
  t.equal(lines[0].request.headers['accept-encoding'], 'gzip, deflate, br', 'the recorded request asks for gzip, as the browser did');
  t.match(lines[0].response, { status: 200, bodyEncoding: 'utf8', decodedFrom: 'gzip' }, 'the recorded answer is stored decoded');
  t.same(JSON.parse(lines[0].response!.body), room(1));

  await writeFile(path.join(dir, 'replay.yaml'), `legacy: ${legacy.url}\nservices:\n  rooms: ${service.url}\nflags:\n  file: flags.json\nroutes:\n  - name: rooms-get\n    match: GET /api/rooms/:id\n    service: rooms\n`);
  const report = path.join(dir, 'report.json');
  const res = await runCli(['replay', file, '--config', path.join(dir, 'replay.yaml'), '--no-store', '--noise-warmup', '2', '--noise-delay', '0', '--report', report]);
  t.equal(res.code, 0, res.stderr);
  t.equal(legacy.seen.at(-1)?.headers['accept-encoding'], 'gzip, deflate, br', 'replay asked legacy for gzip again');
  const parity = JSON.parse(await readFile(report, 'utf8'));
  t.match(parity, { source: 'replay', routes: [{ route: 'rooms-get', compared: 3, matches: 3, parity: 100 }] });
  t.same(parity.routes[0].noise, [], 'no noise learned: gzip of the same answer is the same answer');
});
