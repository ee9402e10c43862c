import { join } from 'node:path';
import t from 'tap';
import { startLegacy } from '../../legacy/start-legacy.ts';
import { createDb } from '../../services/shared/database.ts';
import { eventually } from '../helpers/http.ts';
import { phpSkipReason, REQUEST_ID } from '../helpers/legacy.ts';

/** The demo monolith names a request by the x-request-id the proxy sent, in its answer and in its error log. */

t.test('legacy takes the x-request-id it is sent: answer, envelope and error-log line', { skip: phpSkipReason }, async (t) => {
  const lines: string[] = [];
  const file = join(t.testdir(), 'timing.sqlite');
  const legacy = await startLegacy({ databaseUrl: `sqlite:${file}`, port: 0, workers: 1, log: (l) => lines.push(l) });
  t.teardown(() => legacy.stop());

  const ok = await fetch(`${legacy.url}/api/rooms?per_page=1`, { headers: { 'x-request-id': 'from-proxy-123' } });
  t.equal(ok.status, 200);
  t.equal(ok.headers.get('x-request-id'), 'from-proxy-123');
  t.equal(((await ok.json()) as { request_id: string }).request_id, 'from-proxy-123', 'the envelope names the same request');

  const forged = await fetch(`${legacy.url}/api/rooms?per_page=1`, { headers: { 'x-request-id': 'two words' } });
  await forged.text();
  t.match(forged.headers.get('x-request-id'), REQUEST_ID, 'an id that is not a token is replaced by legacy\'s own');

  // a table gone under legacy: its next request fails and is written to the error log
  const db = createDb(`sqlite:${file}`);
  await db.raw('DROP TABLE diaries');
  await db.destroy();
  const failed = await fetch(`${legacy.url}/api/diaries?user=1`, { headers: { 'x-request-id': 'from-proxy-456' } });
  await failed.text();
  t.equal(failed.status, 500);
  const logged = await eventually(() => lines.find((l) => l.includes('failed: database error')), { timeoutMs: 10_000, intervalMs: 50 });
  t.match(logged, /timing: request from-proxy-456 GET \/api\/diaries failed: database error/, 'the error-log line carries the proxy\'s id');
});
