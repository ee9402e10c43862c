import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import t from 'tap';
import { BIN, runCli } from '../helpers/cli.ts';
import { closedPort, eventually, request } from '../helpers/http.ts';
import { phpSkipReason } from '../helpers/legacy.ts';

t.test('strangler demo starts legacy, rooms and the proxy; a shift moves a route; Ctrl-C stops all of it', { skip: phpSkipReason }, async (t) => {
  const dir = t.testdir();
  const [proxyPort, legacyPort, roomsPort] = [await closedPort(), await closedPort(), await closedPort()];
  const config = path.join(dir, 'routes.yaml');
  await writeFile(
    config,
    `listen: 127.0.0.1:${proxyPort}\nlegacy: http://127.0.0.1:${legacyPort}\nservices:\n  rooms: http://127.0.0.1:${roomsPort}\nflags:\n  file: flags.json\ncomparisons:\n  database: sqlite:comparisons.sqlite\nroutes:\n  - name: rooms-get\n    match: GET /api/rooms/:id\n    service: rooms\n  - name: rooms-list\n    match: GET /api/rooms\n    service: rooms\n    stage: shadow\n`,
  );
  const child = spawn(process.execPath, [BIN, 'demo', '--config', config], {
    env: { ...process.env, DATABASE_URL: `sqlite:${path.join(dir, 'timing.sqlite')}` },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  let stdout = '';
  child.stderr.on('data', (d) => (stderr += d));
  child.stdout.on('data', (d) => (stdout += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  t.teardown(() => {
    child.kill('SIGKILL');
  });

  await eventually(() => stderr.includes('strangler demo is running'), { timeoutMs: 60_000, intervalMs: 100 });
  t.match(stderr, /starting the PHP monolith .* the first start seeds the database/, 'progress is shown');
  t.match(stderr, /npx strangler shift rooms-get 100/, 'the tour says what to try');
  const proxy = `http://127.0.0.1:${proxyPort}`;

  const home = await request(`${proxy}/`);
  t.equal(home.status, 200);
  t.match(home.headers['content-type'], /text\/html/);
  t.equal(home.headers['x-strangler-target'], 'legacy');
  t.equal((await request(`${proxy}/api/rooms/1`)).headers['x-strangler-target'], 'legacy');

  t.equal((await runCli(['shift', 'rooms-get', '100', '--config', config])).code, 0);
  await eventually(async () => (await request(`${proxy}/api/rooms/1`)).headers['x-strangler-target'] === 'rooms');
  t.pass('after the shift, rooms answers without a restart');
  t.match(stdout, /"msg":"request completed"/, 'access log lines are printed');

  // the shadow route: legacy answers, the comparison lands in the store the parity command reads
  t.equal((await request(`${proxy}/api/rooms?page=2`)).headers['x-strangler-target'], 'legacy');
  const parity = await eventually(async () => {
    const res = await runCli(['parity', '--config', config]);
    return /rooms-list\s+1\s/.test(res.stdout) ? res : undefined;
  });
  t.equal(parity.code, 0, 'strangler parity reads what the running demo compared');

  // the engineer's question on the same traffic: what is left to strangle
  const accessLog = path.join(dir, 'access.log');
  await writeFile(accessLog, stdout);
  const inventory = await runCli(['inventory', accessLog, '--config', config]);
  t.equal(inventory.code, 0);
  t.notMatch(inventory.stderr, /not readable/, 'the services\' own log lines in the demo\'s output are not taken for broken proxy lines');
  t.match(inventory.stdout, /^GET \/\s+1\s.*—$/m, 'the home page is listed once, covered by no route');
  t.match(inventory.stdout, /^GET \/api\/rooms\/:id\s+\d+\s.*rooms-get@canary$/m, 'room ids are collapsed to :id, covered by rooms-get');
  t.match(inventory.stdout, /^GET \/api\/rooms\s+1\s.*rooms-list@shadow$/m, 'the shadow route is listed with its stage');
  const share = /(\d+) requests, 3 endpoints; ([\d.]+) % strangled/.exec(inventory.stdout);
  t.ok(share && Number(share[2]) > 0 && Number(share[2]) < 100, `part of the demo's traffic was served by rooms: ${share?.[0]}`);

  child.kill('SIGINT');
  t.equal(await exited, 0, 'exits cleanly on Ctrl-C');
  for (const port of [proxyPort, legacyPort, roomsPort]) {
    await t.rejects(request(`http://127.0.0.1:${port}/`), `nothing listens on ${port} any more`);
  }
});

t.test('strangler demo without PHP fails fast with the install hint', async (t) => {
  const res = await runCli(['demo'], { env: { STRANGLER_PHP: path.join(t.testdir(), 'no-php-here') } });
  t.equal(res.code, 1);
  t.match(res.stderr, /PHP 8\.1\+ with pdo_sqlite is needed .* apt-get install -y php-cli php-sqlite3 php-mysql/);
  t.match(res.stderr, /STRANGLER_ERR_PHP_MISSING/);
});

t.test('every command has --help; no command or an unknown one prints the list', async (t) => {
  const top = await runCli(['--help']);
  t.equal(top.code, 0);
  // the list the binary prints is every command it has (proxy/cli/main.ts COMMANDS)
  const listed = [...top.stdout.split('Commands:')[1].matchAll(/^ {2}([a-z-]+) {2,}\S/gm)].map((m) => m[1]);
  const expected = ['demo', 'proxy', 'check', 'status', 'shift', 'rollback', 'promote', 'audit', 'parity', 'replay', 'diff', 'inventory', 'extract', 'migrate'];
  t.same(listed.filter((name) => !expected.includes(name)), [], 'no command this test does not know: add it to the list above');
  t.same(expected.filter((name) => !listed.includes(name)), [], 'every known command is listed');
  for (const name of listed) {
    const res = await runCli([name, '--help']);
    t.equal(res.code, 0, `${name} --help exits 0`);
    t.match(res.stdout, new RegExp(`^Usage: strangler ${name}`), `${name} --help prints its usage`);
  }
  const none = await runCli([]);
  t.equal(none.code, 2);
  const unknown = await runCli(['deploy']);
  t.equal(unknown.code, 2);
  t.match(unknown.stderr, /unknown command "deploy"/);
  const badOption = await runCli(['check', '--nope']);
  t.equal(badOption.code, 2);
  t.match(badOption.stderr, /Unknown option '--nope'[\s\S]*Usage: strangler check/);
});
