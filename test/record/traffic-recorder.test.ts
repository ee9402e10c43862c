import { readFile } from 'node:fs/promises';
import path from 'node:path';
import t, { type Test } from 'tap';
import { readTraffic } from '../../proxy/replay/read-traffic.ts';
import { eventually, request, startUpstream } from '../helpers/http.ts';
import { on, startTestProxy } from '../helpers/proxy.ts';

async function setup(t: Test, record: string) {
  const legacy = await startUpstream('legacy');
  const rooms = await startUpstream('rooms');
  const dir = t.testdir();
  const proxy = await startTestProxy({
    dir,
    legacy: legacy.url,
    services: { rooms: rooms.url },
    extra: 'recording:\n  file: rec/traffic.jsonl\n  maxBody: 1kb',
    routes: `
  - name: login
    match: POST /login
    service: rooms
    record: ${record}
  - name: rooms-get
    match: GET /api/rooms/:id
    service: rooms
    record: ${record}
`,
  });
  t.teardown(async () => {
    await proxy.close();
    await legacy.close();
    await rooms.close();
  });
  return { proxy, file: path.join(dir, 'rec', 'traffic.jsonl') };
}

t.test('recorded lines hold the request and legacy answer, redacted, readable by replay', async (t) => {
  const { proxy, file } = await setup(t, '100%');
  await request(`${proxy.url}/api/rooms/3?token=abc123secret`, { headers: { authorization: 'Bearer s3cr3t-token', cookie: 'PHPSESSID=sess-secret' } });
  await request(`${proxy.url}/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'a@b.c', password: 'hunter2-pw' }) });
  await request(`${proxy.url}/not-a-route`);
  await proxy.close();
  const lines = [];
  for await (const line of readTraffic(file)) lines.push(line);
  t.equal(lines.length, 2, 'only matched routes are recorded');
  // (the test upstream echoes the raw URL in its body; the recorded requests must hold no secret)
  const requests = JSON.stringify(lines.map((l) => l.request));
  for (const secret of ['abc123secret', 's3cr3t-token', 'sess-secret', 'hunter2-pw']) t.notMatch(requests, secret, `${secret} never reaches the recording`);
  t.match(lines[0], { route: 'rooms-get', request: { method: 'GET', url: '/api/rooms/3?token=[redacted]', headers: { authorization: '[redacted]', cookie: '[redacted]' } } });
  t.match(lines[0].response, { status: 200, bodyEncoding: 'utf8', truncated: false });
  t.equal(JSON.parse(lines[0].response!.body).upstream, 'legacy', "legacy's answer is recorded");
  t.match(lines[1], { route: 'login', request: { method: 'POST' } });
  t.same(JSON.parse(lines[1].request.body!), { email: 'a@b.c', password: '[redacted]' });
});

t.test('only what legacy answered is recorded, and record: 0% records nothing', async (t) => {
  const { proxy, file } = await setup(t, '0%');
  await request(`${proxy.url}/api/rooms/3`);
  await proxy.close();
  await t.rejects(readFile(file), { code: 'ENOENT' });
});

t.test('a request the service answered (canary) is not recorded', async (t) => {
  const { proxy, file } = await setup(t, '100%');
  const { writeFlagsFile } = await import('../../proxy/flags/flags-file.ts');
  await writeFlagsFile(proxy.flagsFile, { version: 2, features: [on('rooms-get')] });
  await eventually(async () => (await request(`${proxy.url}/api/rooms/1`)).headers['x-strangler-target'] === 'rooms');
  await request(`${proxy.url}/api/rooms/2`);
  await proxy.close();
  const text = await readFile(file, 'utf8').catch(() => '');
  t.notMatch(text, '/api/rooms/2', 'a service answer is not a legacy recording');
});
