import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import t from 'tap';
import { buildStoredParityReport } from '../../proxy/parity/build-parity-report.ts';
import { renderHtmlReport } from '../../proxy/report/html-report.ts';
import { request } from '../helpers/http.ts';
import { json, startShadowFixture } from './shadow-fixture.ts';

/** Every byte the SQLite store wrote (database, WAL, journal). */
async function storeBytes(dir: string): Promise<string> {
  const files = (await readdir(dir)).filter((f) => f.startsWith('comparisons.sqlite'));
  const parts = await Promise.all(files.map((f) => readFile(path.join(dir, f), 'latin1')));
  return parts.join('\n');
}

t.test('comparisons.storedBodyLimit cuts what is stored, not what is compared', async (t) => {
  const filler = 'x'.repeat(4000);
  const { proxy, stored } = await startShadowFixture(t, {
    legacy: json(() => ({ filler, tail: 'legacy-tail' })),
    candidate: json(() => ({ filler, tail: 'service-tail' })),
    comparisons: '  storedBodyLimit: 1kb',
  });
  const reply = await request(`${proxy.url}/api/rooms/7`);
  t.equal(reply.body.length, JSON.stringify({ filler, tail: 'legacy-tail' }).length, 'the client gets the whole body');
  const [row] = await stored(1);
  t.equal(row.outcome, 'mismatch');
  t.same(row.differences, [{ path: '$.tail', kind: 'changed', primary: 'legacy-tail', candidate: 'service-tail' }], 'the difference past the limit is still found');
  for (const side of [row.legacy!, row.serviceResponse!]) {
    t.ok(Buffer.byteLength(side.body) <= 1024, `a stored body is at most 1 kB (${Buffer.byteLength(side.body)})`);
    t.equal(side.truncated, true, 'and marked as cut');
    t.notMatch(side.body, /tail/, 'what lies past the limit is not stored');
  }
});

t.test('comparisons.redact fields and headers never reach the store, on top of the built-in secrets', async (t) => {
  const LEGACY = { id: 7, email: 'alice@example.org', room_secret: 'door-code-4711', owner: { Email: 'bob@example.org' }, name: 'Quiet room' };
  const { dir, proxy, stored } = await startShadowFixture(t, {
    legacy: json(() => LEGACY, { 'x-internal-key': 'resp-key-legacy' }),
    candidate: json(() => ({ ...LEGACY, email: 'carol@example.org', name: 'Loud room' }), { 'x-internal-key': 'resp-key-service' }),
    comparisons: '  redact:\n    fields: [email, room_secret]\n    headers: [X-Api-Key, x-internal-key]',
  });
  const reply = await request(`${proxy.url}/api/rooms/7?email=dave@example.org&view=full`, {
    headers: { 'x-api-key': 'req-key-123', authorization: 'Bearer tok-999', cookie: 'PHPSESSID=sess-42' },
  });
  t.equal(reply.json().email, 'alice@example.org', 'the client still gets the real value');
  const [row] = await stored(1);
  t.equal(row.outcome, 'mismatch');
  t.equal(row.request.url, '/api/rooms/7?email=[redacted]&view=full', 'a redacted field is redacted in the query too');
  t.equal(row.request.headers['x-api-key'], '[redacted]', 'a configured header, whatever its case in routes.yaml');
  t.equal(row.request.headers.authorization, '[redacted]');
  t.equal(row.legacy!.headers['x-internal-key'], '[redacted]', 'response headers too');
  t.match(JSON.parse(row.legacy!.body), { email: '[redacted]', room_secret: '[redacted]', owner: { Email: '[redacted]' }, name: 'Quiet room' });
  t.same(
    row.differences.map((d) => [d.path, 'primary' in d ? d.primary : undefined, 'candidate' in d ? d.candidate : undefined]).sort(),
    [['$.email', '[redacted]', '[redacted]'], ['$.name', 'Quiet room', 'Loud room']],
    'a differing redacted field is named, its values are not',
  );
  await proxy.proxy.store!.flush();
  const bytes = await storeBytes(dir);
  t.ok(bytes.includes('Quiet room'), 'the check reads the real database files');
  const secrets = ['alice@example.org', 'bob@example.org', 'carol@example.org', 'dave@example.org', 'door-code-4711', 'req-key-123', 'resp-key-legacy', 'resp-key-service', 'tok-999', 'sess-42'];
  t.same(secrets.filter((s) => bytes.includes(s)), [], 'no secret is anywhere in the database files');
  const html = renderHtmlReport(await buildStoredParityReport(proxy.proxy.store!, { since: 0 }));
  t.match(html, /\$\.name/, 'the report shows the mismatch');
  t.same(secrets.filter((s) => html.includes(s)), [], 'and no secret');
});
