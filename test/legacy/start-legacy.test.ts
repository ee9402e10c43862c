import { chmodSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { LegacyErrorCodes, findPhp, startLegacy } from '../../legacy/start-legacy.ts';
import { phpSkipReason } from '../helpers/legacy.ts';

t.test('a missing PHP is reported with the install hint', async (t) => {
  const probe = await findPhp({ phpBinary: 'php-that-does-not-exist' });
  t.equal(probe.ok, false);
  await t.rejects(startLegacy({ phpBinary: 'php-that-does-not-exist', port: 0 }), {
    code: LegacyErrorCodes.PHP_MISSING,
    message: /PHP 8\.1\+ with pdo_sqlite is required.*sudo apt-get install -y php-cli php-sqlite3 php-mysql/,
  });
});

t.test('startLegacy', { skip: phpSkipReason }, async (t) => {
  t.test('serves on a free port, streams php output, and stop() frees the port', async (t) => {
    const lines: string[] = [];
    const databaseUrl = `sqlite:${join(t.testdir(), 'timing.sqlite')}`;
    const legacy = await startLegacy({ databaseUrl, port: 0, workers: 2, log: (l) => lines.push(l) });
    t.match(legacy.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    t.ok(legacy.port > 0);
    const res = await fetch(`${legacy.url}/api/rooms?per_page=1`);
    t.equal(res.status, 200);
    await res.text();
    t.ok(lines.some((l) => l.includes('seed: inserted')), 'setup output logged');
    t.ok(lines.some((l) => l.includes('Development Server')), 'php -S output logged');

    await legacy.stop();
    await legacy.stop();
    await t.rejects(fetch(`${legacy.url}/api/rooms`, { signal: AbortSignal.timeout(2000) }), 'nothing answers after stop');
  });

  t.test('a port that is taken is refused instead of reporting someone else as ready', async (t) => {
    const databaseUrl = `sqlite:${join(t.testdir(), 'timing.sqlite')}`;
    const first = await startLegacy({ databaseUrl, port: 0, workers: 1 });
    t.teardown(() => first.stop());
    await t.rejects(startLegacy({ databaseUrl, port: first.port, workers: 1 }), {
      code: LegacyErrorCodes.PORT_IN_USE,
      message: new RegExp(`port ${first.port} .* already in use`),
    });
  });

  t.test('php -S exiting early rejects with its stderr', async (t) => {
    // A php that works for the probe and setup.php but dies as a server.
    const dir = t.testdir({
      'php-dies-as-server': "#!/bin/sh\nif [ \"$1\" = -S ]; then echo 'boom: cannot serve' >&2; exit 3; fi\nexec php \"$@\"\n",
    });
    const phpBinary = join(dir, 'php-dies-as-server');
    chmodSync(phpBinary, 0o755);
    await t.rejects(startLegacy({ databaseUrl: `sqlite:${join(dir, 'timing.sqlite')}`, port: 0, phpBinary }), {
      code: LegacyErrorCodes.EXITED,
      message: /exited \(code 3\).*boom: cannot serve/s,
    });
  });

  t.test('an unsupported DATABASE_URL is refused before php starts', async (t) => {
    await t.rejects(startLegacy({ databaseUrl: 'postgres://u:secret@h/db', port: 0 }), {
      code: LegacyErrorCodes.DATABASE_URL,
      message: /u:\*\*\*@h/,
    });
  });
});
