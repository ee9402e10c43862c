import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import pino from 'pino';
import t from 'tap';
import { runProxy } from '../../proxy/cli/run-proxy.ts';
import { loadConfig } from '../../proxy/config/load-config.ts';
import { rolloutFeature, writeFlagsFile } from '../../proxy/flags/flags-file.ts';
import { eventually, request, startUpstream } from '../helpers/http.ts';

t.test('routes.yaml hot reload: a good edit applies, a bad one changes nothing, in-flight requests finish', async (t) => {
  let release: (() => void) | undefined;
  const legacy = await startUpstream('legacy', (req, res) => {
    if (req.url === '/slow') {
      release = () => res.end('slow done');
      return;
    }
    res.end('legacy');
  });
  const rooms = await startUpstream('rooms', (_req, res) => res.end('rooms'));
  const dir = t.testdir();
  const file = path.join(dir, 'routes.yaml');
  const base = `listen: 127.0.0.1:0\nlegacy: ${legacy.url}\nservices:\n  rooms: ${rooms.url}\nflags:\n  file: flags.json\nroutes:\n  - name: rooms-get\n    match: GET /api/rooms/:id\n    service: rooms\n`;
  await writeFile(file, base);
  await writeFlagsFile(path.join(dir, 'flags.json'), { version: 2, features: [rolloutFeature('rooms-get', 100), rolloutFeature('rooms-list', 100)] });
  const logs: any[] = [];
  const logger = pino({ level: 'info' }, { write: (chunk: string) => void logs.push(...chunk.split('\n').filter(Boolean).map((l) => JSON.parse(l))) });
  const running = await runProxy(await loadConfig(file), logger);
  t.teardown(async () => {
    await running.stop();
    await legacy.close();
    await rooms.close();
  });
  const body = async (p: string) => (await request(running.url + p)).text;

  t.equal(await body('/api/rooms/1'), 'rooms');
  t.equal(await body('/api/rooms'), 'legacy', 'no route for the list yet');

  const slow = request(`${running.url}/slow`);
  await eventually(() => release);

  await writeFile(file, `${base}  - name: rooms-list\n    match: GET /api/rooms\n    service: rooms\n`);
  await eventually(async () => (await body('/api/rooms')) === 'rooms');
  t.pass('a new route applies without a restart');
  t.ok(logs.some((l) => l.msg === 'config applied'));

  await writeFile(file, `${base}  - name: rooms-list\n    match: GET /api/rooms\n    service: roomz\n`);
  const rejected = await eventually(() => logs.find((l) => l.msg === 'config rejected, still serving the last good one'));
  t.equal(rejected.level, 50);
  t.match(rejected.problems[0], /^13:14 routes\[1\]\.service unknown service "roomz"; did you mean "rooms"\?/);
  t.equal(await body('/api/rooms'), 'rooms', 'the last good config keeps serving');

  release!();
  const finished = await slow;
  t.equal(finished.text, 'slow done', 'the request in flight across both reloads completed');
});

t.test('reloads (good and bad, and SIGHUP) under a steady load: zero failed requests', async (t) => {
  const legacy = await startUpstream('legacy');
  const rooms = await startUpstream('rooms');
  const dir = t.testdir();
  const file = path.join(dir, 'routes.yaml');
  const config = (service: string) =>
    `listen: 127.0.0.1:0\nlegacy: ${legacy.url}\nservices:\n  rooms: ${rooms.url}\nflags:\n  file: flags.json\nroutes:\n  - name: rooms-get\n    match: GET /api/rooms/:id\n    service: ${service}\n`;
  await writeFile(file, config('rooms'));
  await writeFlagsFile(path.join(dir, 'flags.json'), { version: 2, features: [rolloutFeature('rooms-get', 50)] });
  const logs: any[] = [];
  const logger = pino({ level: 'info' }, { write: (chunk: string) => void logs.push(...chunk.split('\n').filter(Boolean).map((l) => JSON.parse(l))) });
  const running = await runProxy(await loadConfig(file), logger);
  t.teardown(async () => {
    await running.stop();
    await legacy.close();
    await rooms.close();
  });
  let stop = false;
  const statuses: number[] = [];
  const worker = async (w: number) => {
    for (let i = 0; !stop; i++) statuses.push((await request(`${running.url}/api/rooms/${w * 1000 + i}`, { headers: { 'x-user-id': `u${i}` } })).status);
  };
  const load = Promise.all(Array.from({ length: 8 }, (_, w) => worker(w)));
  for (let round = 0; round < 3; round++) {
    await writeFile(file, config('nope'));
    await eventually(() => logs.filter((l) => l.msg === 'config rejected, still serving the last good one').length > round);
    await writeFile(file, config('rooms') + `  - name: other-${round}\n    match: GET /other/${round}\n    service: rooms\n`);
    await eventually(() => logs.filter((l) => l.msg === 'config applied').length > round);
    process.emit('SIGHUP', 'SIGHUP');
  }
  stop = true;
  await load;
  t.ok(statuses.length > 100, `a steady load ran through the reloads (${statuses.length} requests)`);
  t.same([...new Set(statuses)], [200], 'every request succeeded');
});
