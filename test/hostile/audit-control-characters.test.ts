import path from 'node:path';
import t from 'tap';
import { writeFlagsFile } from '../../proxy/flags/flags-file.ts';
import { runProxyWithAdmin } from '../helpers/admin-proxy.ts';
import { runCli } from '../helpers/cli.ts';
import { startUpstream } from '../helpers/http.ts';

/**
 * Regression: `strangler audit` printed an operator's --reason as it was stored, so ANSI escapes
 * recoloured the terminal and a carriage return overwrote the line with a forged one. Every
 * terminal control from the audit log is now printed as an escape.
 */

const OPERATOR = 'op-token-0123456789abcdef';
const READER = 'read-token-0123456789abcdef';

/** ESC, CR, a one-character CSI (U+009B), a right-to-left override, a quote and a backslash */
const FROM_CLI = 'load test passed\x1b[31m\rrooms-get  rollback  by nobody';
const FROM_API = 'C:\\temp \u009b2J "quoted" \u202eevil';
const RAW_CONTROLS = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

t.test('reasons with ESC, CR and other controls go in through the admin API and come out of strangler audit escaped', async (t) => {
  const dir = t.testdir();
  const legacy = await startUpstream('legacy');
  const rooms = await startUpstream('rooms');
  t.teardown(async () => {
    await legacy.close();
    await rooms.close();
  });
  const configFile = path.join(dir, 'routes.yaml');
  await writeFlagsFile(path.join(dir, 'flags.json'), { version: 2, features: [] });
  const running = await runProxyWithAdmin(
    configFile,
    (adminPort) => `listen: 127.0.0.1:0
legacy: ${legacy.url}
services:
  rooms: ${rooms.url}
flags:
  file: flags.json
comparisons:
  database: sqlite:strangler.sqlite
admin:
  listen: 127.0.0.1:${adminPort}
  operatorToken: ${OPERATOR}
  readToken: ${READER}
routes:
  - name: rooms-get
    match: GET /api/rooms/:id
    service: rooms
`,
  );
  t.teardown(() => running.stop());
  const cli = (...args: string[]) => runCli([...args, '--config', configFile]);

  const shifted = await cli('shift', 'rooms-get', '50', '--reason', FROM_CLI);
  t.equal(shifted.code, 0, shifted.stderr);
  const rolled = await fetch(`${running.adminUrl}/routes/rooms-get/rollback`, {
    method: 'POST',
    headers: { authorization: `Bearer ${OPERATOR}`, 'content-type': 'application/json' },
    body: JSON.stringify({ reason: FROM_API }),
  });
  t.equal(rolled.status, 200, await rolled.text());

  const audit = await cli('audit');
  t.equal(audit.code, 0, audit.stderr);
  t.notMatch(audit.stdout, RAW_CONTROLS, 'no raw ESC, CR, C1 or bidi control reaches the terminal');
  t.notOk(audit.stdout.includes('\x1b') || audit.stdout.includes('\r'), 'in particular no ESC and no CR byte');
  const lines = audit.stdout.trimEnd().split('\n');
  t.equal(lines.length, 2, 'one line per entry: nothing forged a line');
  t.match(lines[0], /^\S+Z  rooms-get  rollback  50 % → 0 %  by operator@127\.0\.0\.1  "C:\\\\temp \\x9b2J \\"quoted\\" \\u202eevil"$/);
  t.match(lines[1], /^\S+Z  rooms-get  shift  0 % → 50 %  by operator@127\.0\.0\.1  "load test passed\\x1b\[31m\\rrooms-get  rollback  by nobody"$/);

  const json = await cli('audit', '--json');
  t.equal(json.code, 0, json.stderr);
  t.notMatch(json.stdout, RAW_CONTROLS, '--json escapes them too');
  t.same(
    JSON.parse(json.stdout).map((e: { reason: string }) => e.reason),
    [FROM_API, FROM_CLI],
    'and reads back as what was stored',
  );
});
