import { appendFile, open, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pino from 'pino';
import t, { type Test } from 'tap';
import { runProxy } from '../../proxy/cli/run-proxy.ts';
import { loadConfig } from '../../proxy/config/load-config.ts';
import { watchConfig } from '../../proxy/config/watch-config.ts';
import type { Config } from '../../proxy/config/schema.ts';
import { StranglerError } from '../../proxy/errors.ts';
import { rolloutFeature, writeFlagsFile } from '../../proxy/flags/flags-file.ts';
import { eventually, request, startUpstream } from '../helpers/http.ts';

/** longer than the watcher's 50 ms debounce, shorter than the time a change must stay unchanged */
const PAUSE_MS = 150;

async function setup(t: Test) {
  const legacy = await startUpstream('legacy', (_req, res) => res.end('legacy'));
  const rooms = await startUpstream('rooms', (_req, res) => res.end('rooms'));
  const dir = t.testdir();
  const file = path.join(dir, 'routes.yaml');
  const base = `listen: 127.0.0.1:0\nlegacy: ${legacy.url}\nservices:\n  rooms: ${rooms.url}\nflags:\n  file: flags.json\nroutes:\n  - name: rooms-get\n    service: rooms\n    match: GET /api/rooms/:id\n`;
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
  // a steady client of the 100 % route: every answer it gets is recorded
  const answers = new Set<string>();
  let stop = false;
  const load = (async () => {
    while (!stop) answers.add((await request(`${running.url}/api/rooms/1`)).text);
  })();
  const stopLoad = async () => {
    stop = true;
    await load;
    return [...answers];
  };
  return { file, base, logs, running, stopLoad };
}

t.test('routes.yaml written in place in two halves, with a pause between: the half is never applied', async (t) => {
  const { file, base, logs, running, stopLoad } = await setup(t);
  const next = `${base}  - name: rooms-list\n    match: GET /api/rooms\n    service: rooms\n`;
  // cut inside the 100 % route's match, its last key: "GET /api/ro" is valid, and would send /api/rooms/1 to legacy
  const cut = next.indexOf('GET /api/rooms/:id') + 'GET /api/ro'.length;
  const handle = await open(file, 'w');
  await handle.write(next.slice(0, cut));
  await sleep(PAUSE_MS);
  await handle.write(next.slice(cut));
  await handle.close();

  const applied = await eventually(() => logs.find((l) => l.msg === 'config applied'));
  t.equal(applied.routes, 2, 'the first config applied is the whole file');
  t.same(await stopLoad(), ['rooms'], 'the 100 % route answered from the service throughout');
  t.notOk(logs.some((l) => l.msg === 'config rejected, still serving the last good one'), 'the half was not even validated');
  t.equal((await request(`${running.url}/api/rooms`)).text, 'rooms', 'the new route applies');
});

t.test('a file cut short and left so is rejected, and the last good config keeps serving', async (t) => {
  const { file, base, logs, stopLoad } = await setup(t);
  await writeFile(file, base.slice(0, base.indexOf('routes:')));
  const rejected = await eventually(() => logs.find((l) => l.msg === 'config rejected, still serving the last good one'));
  t.match(rejected.problems, [/routes missing; add routes: .* A file without routes: is often one cut short/]);
  t.same(await stopLoad(), ['rooms'], 'the 100 % route answered from the service throughout');
  t.notOk(logs.some((l) => l.msg === 'config applied'));
});

t.test('the watcher says when it waits for a file still being written, and gives up on one that never settles', async (t) => {
  const dir = t.testdir();
  const file = path.join(dir, 'routes.yaml');
  const good = 'legacy: http://127.0.0.1:8000\nroutes: []\n';
  await writeFile(file, good);
  const logs: any[] = [];
  const logger = pino({ level: 'info' }, { write: (chunk: string) => void logs.push(...chunk.split('\n').filter(Boolean).map((l) => JSON.parse(l))) });
  const applied: Config[] = [];
  const rejected: Error[] = [];
  const watcher = watchConfig(file, (c) => void applied.push(c), (e) => void rejected.push(e), { logger, settleMs: 100 });
  t.teardown(() => watcher.close());

  await writeFile(file, `${good}# one`);
  await eventually(() => logs.some((l) => l.msg === 'config file changed, waiting for it to settle'));
  await appendFile(file, ' two');
  await eventually(() => applied.length === 1);
  t.ok(logs.some((l) => l.msg === 'config file still being written, waiting' && l.file === file), 'the wait is logged');
  t.same(rejected, []);

  // a file that grows every 20 ms for longer than 25 settle intervals is never applied
  let growing = true;
  const writer = (async () => {
    while (growing) {
      await appendFile(file, '#');
      await sleep(20);
    }
  })();
  const unsettled = await eventually(() => rejected[0], { timeoutMs: 10_000 });
  growing = false;
  await writer;
  t.ok(unsettled instanceof StranglerError && unsettled.code === 'STRANGLER_ERR_CONFIG_UNSETTLED', 'rejected as still changing');
  t.match(unsettled.message, /was still changing after \d+ ms, so none of it was applied; write it elsewhere and rename it over routes.yaml/);
  t.equal(applied.length, 1, 'nothing more was applied');
});
