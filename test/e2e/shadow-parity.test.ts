import { readFile } from 'node:fs/promises';
import path from 'node:path';
import t, { type Test } from 'tap';
import { startLegacy } from '../../legacy/start-legacy.ts';
import { migrateLatest } from '../../migrations/migrate.ts';
import { loadConfig } from '../../proxy/config/load-config.ts';
import { buildStoredParityReport } from '../../proxy/parity/build-parity-report.ts';
import { startRooms } from '../../services/rooms/server.ts';
import { runCli } from '../helpers/cli.ts';
import { eventually, request } from '../helpers/http.ts';
import { phpSkipReason } from '../helpers/legacy.ts';
import { createTestDatabase, mysqlSkipReason } from '../helpers/mysql.ts';
import { startTestProxy } from '../helpers/proxy.ts';

/**
 * The QA acceptance run, end to end through real PHP, the real rooms service and the proxy:
 * a rooms route in shadow, parity from live traffic with learned noise, a real difference
 * caught with its path, a recording replayed to the same parity, and --min-parity failing the
 * mismatching variant.
 */

const ROOM_IDS = Array.from({ length: 24 }, (_, i) => i + 1);

const routes = (extra = '') => `
  - name: rooms-get
    match: GET /api/rooms/:id
    service: rooms
    stage: shadow
    record: 100%
    # the second legacy call waits past the next second: generated_at has second resolution
    shadow: { noiseWarmup: 8, noiseDelay: 1100ms, timeout: 5s }${extra}
`;

async function shadowRun(t: Test, dir: string, databaseUrl: string, comparisonsUrl: string) {
  const legacy = await startLegacy({ databaseUrl, port: 0, workers: 4 });
  t.teardown(() => legacy.stop());
  await migrateLatest({ databaseUrl });
  const rooms = await startRooms({ databaseUrl, port: 0, logger: false });
  t.teardown(() => rooms.stop());
  const faulty = await startRooms({ databaseUrl, port: 0, logger: false, testFault: { renameField: { from: 'owner', to: 'host' } } });
  t.teardown(() => faulty.stop());

  const recording = path.join(dir, 'traffic.jsonl');
  const proxy = await startTestProxy({
    dir,
    legacy: legacy.url,
    services: { rooms: rooms.url },
    routes: routes(),
    extra: `comparisons:\n  database: ${comparisonsUrl}\nrecording:\n  file: traffic.jsonl`,
  });
  t.teardown(() => proxy.close());
  const store = proxy.proxy.store!;
  const settle = async () => {
    await proxy.proxy.state.shadow.idle();
    await proxy.proxy.state.shadow.noiseIdle();
    await store.flush();
  };

  // --- live shadow traffic: clients get legacy, parity 100 %, noise learned -------------------
  const since = Date.now() - 1000;
  for (const id of ROOM_IDS) {
    const reply = await request(`${proxy.url}/api/rooms/${id}`);
    t.equal(reply.status, 200);
    t.equal(reply.headers['x-strangler-target'], 'legacy', `room ${id}: legacy answered the client`);
  }
  await settle();
  const live = await buildStoredParityReport(store, { since, route: 'rooms-get' });
  const [liveRoute] = live.routes;
  t.equal(liveRoute.compared, ROOM_IDS.length, 'every request was compared');
  t.equal(liveRoute.parity, 100, `live shadow parity is 100 % (differences: ${JSON.stringify(liveRoute.topDifferences)})`);
  const noise = liveRoute.noise.map((n) => n.pattern);
  t.ok(noise.includes('$.generated_at'), `generated_at is learned noise (${noise})`);
  // the proxy sends one x-request-id to legacy, its noise call and the service, and each echoes it
  t.notOk(noise.includes('$.request_id'), 'request_id is not noise: every side answered under the same id');
  t.same(liveRoute.topDifferences, [], 'noise is not reported as a difference');

  const cli = await runCli(['parity', '--config', proxy.configFile]);
  t.equal(cli.code, 0, cli.stderr);
  t.match(cli.stdout, /rooms-get\s+24\s+24\s+0\s+0\s+\d+\s+100\.00 %/);
  t.match(cli.stdout, /noise\s+\$\.generated_at/);

  // --- replay of the recording reaches the same parity ----------------------------------------
  const recorded = (await readFile(recording, 'utf8')).trim().split('\n');
  t.equal(recorded.length, ROOM_IDS.length, 'each request was recorded');
  const replay = await runCli(['replay', recording, '--config', proxy.configFile, '--noise-warmup', '8', '--noise-delay', '1100ms', '--report', path.join(dir, 'replay.json'), '--no-store']);
  t.equal(replay.code, 0, `replay passes: ${replay.stdout}${replay.stderr}`);
  const replayed = JSON.parse(await readFile(path.join(dir, 'replay.json'), 'utf8'));
  t.equal(replayed.routes[0].compared, ROOM_IDS.length);
  t.equal(replayed.routes[0].parity, liveRoute.parity, 'replay parity equals live shadow parity');

  // --- a real difference: the service renames owner → host ------------------------------------
  const faultyConfigFile = path.join(dir, 'faulty.yaml');
  const { writeFile } = await import('node:fs/promises');
  await writeFile(faultyConfigFile, (await readFile(proxy.configFile, 'utf8')).replace(rooms.url, faulty.url));
  const failing = await runCli(['replay', recording, '--config', faultyConfigFile, '--noise-delay', '0', '--min-parity', '99.5', '--report', path.join(dir, 'faulty.json'), '--no-store']);
  t.equal(failing.code, 1, 'replay against the mismatching service fails the pipeline');
  t.match(failing.stderr, /parity below 99.5 %: rooms-get 0\.00 %/);
  t.match(failing.stdout, /differs\s+\$\.data\.owner\s+×24/);

  await proxy.proxy.reload(await loadConfig(faultyConfigFile));
  const faultSince = Date.now();
  for (const id of ROOM_IDS.slice(0, 6)) t.equal((await request(`${proxy.url}/api/rooms/${id}`)).status, 200);
  await settle();
  const after = await buildStoredParityReport(store, { since: faultSince, route: 'rooms-get' });
  t.equal(after.routes[0].parity, 0, 'parity drops to 0 % once every answer differs');
  const owner = after.routes[0].topDifferences.find((d) => d.pattern === '$.data.owner');
  t.ok(owner, 'the differing path is named');
  t.match(owner, { count: 6, example: { request: /^GET \/api\/rooms\/\d+$/, path: '$.data.owner', legacy: { id: Number } } });
  t.ok(after.routes[0].topDifferences.some((d) => d.pattern === '$.data.host'), 'and the added key too');

  const html = path.join(dir, 'report.html');
  const diff = await runCli(['diff', 'report', '--config', proxy.configFile, '--since', '1m', '--html', html, '--junit', path.join(dir, 'junit.xml')]);
  t.equal(diff.code, 0, diff.stderr);
  const page = await readFile(html, 'utf8');
  t.match(page, /class="node diff" data-path="\$\.data\.owner"/, 'the report highlights the differing node');
  t.match(await readFile(path.join(dir, 'junit.xml'), 'utf8'), /<failure message="parity/);
}

t.test('shadow run through real PHP on SQLite', { skip: phpSkipReason }, async (t) => {
  const dir = t.testdir();
  await shadowRun(t, dir, `sqlite:${path.join(dir, 'timing.sqlite')}`, 'sqlite:comparisons.sqlite');
});

t.test('shadow run through real PHP on MySQL/MariaDB, comparisons stored in MySQL', { skip: phpSkipReason || mysqlSkipReason }, async (t) => {
  const db = await createTestDatabase('shadow');
  t.teardown(() => db.drop());
  await shadowRun(t, t.testdir(), db.url, db.url);
});
