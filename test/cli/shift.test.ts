import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import t from 'tap';
import { runCli } from '../helpers/cli.ts';

const config = (dir: string) =>
  writeFile(
    path.join(dir, 'routes.yaml'),
    'legacy: http://127.0.0.1:8000\nservices:\n  rooms: http://127.0.0.1:3101\nflags:\n  file: state/flags.json\nroutes:\n  - name: rooms-get\n    match: GET /api/rooms/:id\n    service: rooms\n    flag: rooms-detail\n',
  );

t.test('shift writes an Unleash client-features file with a sticky flexibleRollout', async (t) => {
  const dir = t.testdir();
  await config(dir);
  const res = await runCli(['shift', 'rooms-get', '25'], { cwd: dir });
  t.equal(res.code, 0, res.stderr);
  t.match(res.stdout, /rooms-get: 0 % \(no flag yet\) → 25 % of requests to "rooms" \(flag rooms-detail/);
  const data = JSON.parse(await readFile(path.join(dir, 'state/flags.json'), 'utf8'));
  t.equal(data.version, 2);
  t.match(data.features, [
    { name: 'rooms-detail', enabled: true, strategies: [{ name: 'flexibleRollout', parameters: { rollout: '25', stickiness: 'default', groupId: 'rooms-detail' } }] },
  ]);

  t.equal((await runCli(['shift', 'rooms-get', 'off'], { cwd: dir })).code, 0);
  const killed = JSON.parse(await readFile(path.join(dir, 'state/flags.json'), 'utf8'));
  t.match(killed.features[0], { enabled: false, strategies: [{ parameters: { rollout: '25' } }] }, 'off keeps the share for later');
  const back = await runCli(['shift', 'rooms-get', 'on'], { cwd: dir });
  t.match(back.stdout, /off \(25 % when on\) → 25 %/);
});

t.test('shift refuses bad input with a clear message and changes nothing', async (t) => {
  const dir = t.testdir();
  await config(dir);
  const badShare = await runCli(['shift', 'rooms-get', '120'], { cwd: dir });
  t.equal(badShare.code, 1);
  t.match(badShare.stderr, /"120" is not a share: write a whole number from 0 to 100, or "on"\/"off"/);
  const badRoute = await runCli(['shift', 'room-get', '10'], { cwd: dir });
  t.equal(badRoute.code, 1);
  t.match(badRoute.stderr, /no route named "room-get" in routes.yaml; routes are: rooms-get/);
  const usage = await runCli(['shift', 'rooms-get'], { cwd: dir });
  t.equal(usage.code, 2);
  t.match(usage.stderr, /Usage: strangler shift/);
  await t.rejects(readFile(path.join(dir, 'state/flags.json')), 'no flags file was written');
});
