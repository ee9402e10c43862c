import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import t from 'tap';
import { BIN } from '../helpers/cli.ts';
import { closedPort, eventually, request, startUpstream } from '../helpers/http.ts';

t.test('strangler proxy serves the config, logs JSON lines, and stops cleanly on SIGTERM', async (t) => {
  const legacy = await startUpstream('legacy');
  t.teardown(() => legacy.close());
  const dir = t.testdir();
  const config = path.join(dir, 'routes.yaml');
  await writeFile(config, `legacy: ${legacy.url}\nroutes: []\n`);
  const port = await closedPort();
  const child = spawn(process.execPath, [BIN, 'proxy', '--config', config, '--listen', `127.0.0.1:${port}`], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  child.stdout.on('data', (d) => (stdout += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  t.teardown(() => void child.kill('SIGKILL'));

  await eventually(() => stdout.includes('"msg":"proxy listening"'), { timeoutMs: 20_000 });
  const res = await request(`http://127.0.0.1:${port}/hello?x=1`);
  t.equal(res.json().upstream, 'legacy');
  await eventually(() => stdout.includes('"msg":"request completed"'));
  const line = stdout.split('\n').map((l) => (l ? JSON.parse(l) : {})).find((l) => l.msg === 'request completed');
  t.match(line, { url: '/hello?x=1', route: null, target: 'legacy', reason: 'unmatched', status: 200 });
  child.kill('SIGTERM');
  t.equal(await exited, 0);
  t.match(stdout, /"msg":"proxy stopping"/);
});

t.test('strangler proxy --workers 2 serves from two processes on one address and stops them all', async (t) => {
  const legacy = await startUpstream('legacy', (req, res) => res.end(JSON.stringify({ pid: req.headers['x-forwarded-for'] })));
  t.teardown(() => legacy.close());
  const dir = t.testdir();
  const config = path.join(dir, 'routes.yaml');
  await writeFile(config, `legacy: ${legacy.url}\nroutes: []\n`);
  const port = await closedPort();
  const child = spawn(process.execPath, [BIN, 'proxy', '--config', config, '--listen', `127.0.0.1:${port}`, '--workers', '2'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  child.stdout.on('data', (d) => (stdout += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  t.teardown(() => void child.kill('SIGKILL'));

  await eventually(() => stdout.split('"msg":"proxy listening"').length - 1 === 2, { timeoutMs: 30_000 });
  const pids = new Set(stdout.split('\n').filter((l) => l.includes('"msg":"proxy listening"')).map((l) => JSON.parse(l).pid));
  t.equal(pids.size, 2, 'two worker processes listen');
  const res = await request(`http://127.0.0.1:${port}/`);
  t.equal(res.status, 200);
  child.kill('SIGTERM');
  t.equal(await exited, 0);
  await t.rejects(request(`http://127.0.0.1:${port}/`), 'nothing listens after the stop');
});
