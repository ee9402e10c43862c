import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import t, { type Test } from 'tap';
import { createTimingDb } from '../../helpers/timing-db.ts';

const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const START_DEADLINE_MS = 20_000;

interface LogLine {
  level: number;
  msg: string;
  [key: string]: unknown;
}

/** `node --import tsx services/rooms/server.ts` on port 0; resolves with the URL it logs. */
async function spawnRooms(t: Test, databaseUrl: string) {
  // The child runs under tsx alone, not under the loaders tap puts in NODE_OPTIONS.
  const { NODE_OPTIONS, ...env } = process.env;
  const child = spawn(process.execPath, ['--import', 'tsx', 'services/rooms/server.ts'], {
    cwd: REPO_ROOT,
    env: { ...env, PORT: '0', HOST: '127.0.0.1', DATABASE_URL: databaseUrl, LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr += chunk));
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  const lines: LogLine[] = [];
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`no listening line within ${START_DEADLINE_MS} ms: ${stderr}`)),
      START_DEADLINE_MS,
    );
    createInterface({ input: child.stdout }).on('line', (line) => {
      const entry = JSON.parse(line) as LogLine;
      lines.push(entry);
      if (entry.msg === 'rooms service listening') {
        clearTimeout(timer);
        resolve(String(entry.url));
      }
    });
    void exited.then(([code]) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code} before listening: ${stderr}`));
    });
  });
  return { child, url, lines, exited, stderr: () => stderr };
}

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  t.test(`${signal}: stops listening, closes the database, exits 0`, async (t) => {
    const { url: databaseUrl } = await createTimingDb(t, 'sqlite');
    const server = await spawnRooms(t, databaseUrl);
    t.match(server.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    t.ok(
      server.lines.some((l) => l.msg.includes(`Server listening at ${server.url}`)),
      'Fastify also logs the bound URL in its message',
    );

    const res = await fetch(`${server.url}/api/rooms/1`);
    t.equal(res.status, 200, 'serves before the signal');
    await res.text();

    server.child.kill(signal);
    const [code, killedBy] = await server.exited;
    t.equal(code, 0, `exit code 0 (stderr: ${server.stderr()})`);
    t.equal(killedBy, null);
    t.ok(server.lines.some((l) => l.msg === 'shutting down' && l.signal === signal));
    t.ok(server.lines.some((l) => l.msg === 'stopped'));
    await t.rejects(fetch(`${server.url}/healthz`), 'no longer listening');
  });
}
