import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import pino from 'pino';
import t from 'tap';
import { runProxy } from '../../proxy/cli/run-proxy.ts';
import { loadConfig } from '../../proxy/config/load-config.ts';
import { writeFlagsFile } from '../../proxy/flags/flags-file.ts';
import { runCli } from '../helpers/cli.ts';
import { eventually, request, startUpstream } from '../helpers/http.ts';
import { json } from './shadow-fixture.ts';

t.test('a shadow route added by a hot reload stores its comparisons at once, without a restart', async (t) => {
  // a legacy slower than the service, as a monolith usually is
  const legacy = await startUpstream('legacy', (req, res) => setTimeout(() => json(() => ({ id: 7, name: 'Quiet room' }))(req, res), 100));
  const rooms = await startUpstream('rooms', json(() => ({ id: 7, name: 'Loud room' })));
  const dir = t.testdir();
  const file = path.join(dir, 'routes.yaml');
  const head = `listen: 127.0.0.1:0\nlegacy: ${legacy.url}\nservices:\n  rooms: ${rooms.url}\nflags:\n  file: flags.json\ncomparisons:\n  database: sqlite:comparisons.sqlite\n`;
  await writeFile(file, `${head}routes:\n  - name: rooms\n    match: GET /api/rooms/:id\n    service: rooms\n    stage: legacy\n`);
  await writeFlagsFile(path.join(dir, 'flags.json'), { version: 2, features: [] });
  const logs: any[] = [];
  const logger = pino({ level: 'info' }, { write: (chunk: string) => void logs.push(...chunk.split('\n').filter(Boolean).map((l) => JSON.parse(l))) });
  const running = await runProxy(await loadConfig(file), logger);
  t.teardown(async () => {
    await running.stop();
    await Promise.all([legacy.close(), rooms.close()]);
  });
  t.equal(running.proxy.store, null, 'no route compares at start: no store is opened');

  await writeFile(file, `${head}routes:\n  - name: rooms\n    match: GET /api/rooms/:id\n    service: rooms\n    stage: shadow\n    shadow: { noiseWarmup: 0, noiseSample: 0% }\n`);
  await eventually(() => logs.some((l) => l.msg === 'config applied'));
  for (let i = 0; i < 3; i++) {
    const reply = await request(`${running.url}/api/rooms/7`);
    t.equal(reply.json().name, 'Quiet room', 'legacy still answers the client');
  }
  await running.proxy.state.shadow.idle();
  await running.proxy.store?.flush();

  const parity = await runCli(['parity', 'rooms', '--json', '--config', file]);
  t.equal(parity.code, 0, parity.stderr);
  t.match(JSON.parse(parity.stdout).routes, [{ route: 'rooms', compared: 3, mismatches: 3, parity: 0 }], 'strangler parity reads the three comparisons made after the reload');
  t.notOk(logs.some((l) => /restart the proxy/.test(l.msg)), 'no warning asks for a restart');
});
