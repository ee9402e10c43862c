import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import knex from 'knex';
import t from 'tap';
import { request, startUpstream } from '../helpers/http.ts';
import { on, startTestProxy } from '../helpers/proxy.ts';

const SERVICE = fileURLToPath(new URL('../fixtures/checkins-service.ts', import.meta.url));

t.test('the service process dies mid-traffic: no GET fails, the breaker opens, no write is lost or doubled', async (t) => {
  const dir = t.testdir();
  const dbFile = path.join(dir, 'checkins.sqlite');
  const child = spawn(process.execPath, ['--import', 'tsx', SERVICE, dbFile], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.teardown(() => void child.kill('SIGKILL'));
  const serviceUrl = await new Promise<string>((resolve, reject) => {
    child.stdout.once('data', (d: Buffer) => resolve(d.toString().trim()));
    child.once('exit', () => reject(new Error('the service did not start')));
  });
  const legacyWrites: string[] = [];
  const legacy = await startUpstream('legacy', (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.method === 'POST') legacyWrites.push(JSON.parse(Buffer.concat(chunks).toString()).requestId);
      res.writeHead(req.method === 'POST' ? 201 : 200, { 'content-type': 'application/json' });
      res.end('{"source":"legacy"}');
    });
  });
  const proxy = await startTestProxy({
    dir,
    legacy: legacy.url,
    services: { checkins: serviceUrl },
    features: [on('checkins')],
    extra: 'breaker:\n  failures: 3\n  openFor: 30s',
    routes: '  - name: checkins\n    match: GET,POST /api/checkins/*\n    service: checkins\n  - name: checkins-create\n    match: POST /api/checkins\n    service: checkins\n    flag: checkins\n',
  });
  t.teardown(async () => {
    await proxy.close();
    await legacy.close();
  });

  const gets: number[] = [];
  const writes: Array<{ id: string; status: number; source?: string }> = [];
  const write = async (id: string) => {
    const res = await request(`${proxy.url}/api/checkins`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ minutes: 25, requestId: id }) });
    writes.push({ id, status: res.status, source: res.status < 300 ? res.json().source : undefined });
  };
  for (let i = 0; i < 60; i++) {
    if (i === 20) {
      child.kill('SIGKILL');
      await new Promise((resolve) => child.once('exit', resolve));
    }
    const [get] = await Promise.all([request(`${proxy.url}/api/checkins/${i}`), write(`w${i}`)]);
    gets.push(get.status);
  }
  t.same([...new Set(gets)], [200], 'every GET succeeded: legacy answered while the service was down');
  t.equal(proxy.proxy.state.breakers.state('checkins'), 'open', 'the breaker opened');

  const db = knex({ client: 'better-sqlite3', connection: { filename: dbFile }, useNullAsDefault: true });
  t.teardown(() => db.destroy());
  const rows = (await db('checkins').select('request_id')).map((r: { request_id: string }) => r.request_id);
  const bySevice = writes.filter((w) => w.source === 'service').map((w) => w.id);
  const byLegacy = writes.filter((w) => w.source === 'legacy').map((w) => w.id);
  const failed = writes.filter((w) => w.status >= 500);
  t.same(rows.sort(), bySevice.sort(), 'every write the service confirmed is in its database, once');
  t.same(legacyWrites.sort(), byLegacy.sort(), 'every write legacy confirmed reached legacy, once');
  t.equal(new Set([...rows, ...legacyWrites]).size, rows.length + legacyWrites.length, 'no write was executed on both sides');
  t.ok(failed.length >= 1 && failed.length <= 3, `writes in the short window before the breaker opened failed cleanly (${failed.length})`);
  for (const f of failed) t.equal(f.status, 502, `${f.id}: a clean 502, not executed anywhere`);
  t.equal(bySevice.length + byLegacy.length + failed.length, 60, 'every write has exactly one fate');
  t.ok(byLegacy.length > 30, 'once the breaker is open, writes go to legacy');
});
