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

t.test('comparisons.redact fields and headers are redacted in the recording too', async (t) => {
  const legacy = await startUpstream('legacy', (req, res) => {
    req.resume();
    res.writeHead(200, { 'content-type': 'application/json', 'x-internal-key': 'resp-key-77' });
    res.end(JSON.stringify({ id: 3, email: 'alice@example.org', name: 'Quiet room' }));
  });
  const rooms = await startUpstream('rooms');
  const dir = t.testdir();
  const proxy = await startTestProxy({
    dir,
    legacy: legacy.url,
    services: { rooms: rooms.url },
    extra: 'recording:\n  file: traffic.jsonl\ncomparisons:\n  redact:\n    fields: [email]\n    headers: [X-Api-Key, x-internal-key]',
    routes: '\n  - name: rooms-get\n    match: GET /api/rooms/:id\n    service: rooms\n    record: 100%\n',
  });
  t.teardown(async () => {
    await proxy.close();
    await legacy.close();
    await rooms.close();
  });
  const reply = await request(`${proxy.url}/api/rooms/3?email=dave@example.org`, { headers: { 'x-api-key': 'req-key-55' } });
  t.equal(reply.json().email, 'alice@example.org', 'the client gets the real answer');
  await proxy.close();
  const text = await readFile(path.join(dir, 'traffic.jsonl'), 'utf8');
  t.ok(text.includes('Quiet room'), "legacy's answer is recorded");
  t.same(['alice@example.org', 'dave@example.org', 'req-key-55', 'resp-key-77'].filter((s) => text.includes(s)), [], 'no configured secret is in the recording');
  const [line] = text.trim().split('\n').map((l) => JSON.parse(l));
  t.equal(line.request.url, '/api/rooms/3?email=[redacted]');
  t.equal(line.request.headers['x-api-key'], '[redacted]');
});
