import type http from 'node:http';
import path from 'node:path';
import t from 'tap';
import { rolloutFeature, writeFlagsFile } from '../../proxy/flags/flags-file.ts';
import { runProxyWithAdmin } from '../helpers/admin-proxy.ts';
import { closedPort, eventually, request, startUpstream } from '../helpers/http.ts';

const OPERATOR = 'op-token-0123456789abcdef';
const READER = 'read-token-0123456789abcdef';

t.test('GET /metrics of a live proxy after real traffic: share, rollout step, refused upstreams, shedding; labels bounded', async (t) => {
  const held: http.ServerResponse[] = [];
  const legacy = await startUpstream('legacy');
  const rooms = await startUpstream('rooms');
  const slow = await startUpstream('slow', (req, res) => {
    req.resume();
    held.push(res);
  });
  const dead = `http://127.0.0.1:${await closedPort()}`;
  t.teardown(async () => {
    for (const res of held) res.end();
    await Promise.all([legacy.close(), rooms.close(), slow.close()]);
  });
  const dir = t.testdir();
  const configFile = path.join(dir, 'routes.yaml');
  await writeFlagsFile(path.join(dir, 'flags.json'), { version: 2, features: [rolloutFeature('rooms-write', 100), rolloutFeature('slow-get', 100), rolloutFeature('dead-get', 100)] });
  const running = await runProxyWithAdmin(
    configFile,
    (adminPort) => `listen: 127.0.0.1:0
legacy: ${legacy.url}
services:
  rooms: ${rooms.url}
  dead: ${dead}
  slow: ${slow.url}
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
    rollout: { steps: [50, 100], interval: 1h, minRequests: 20, maxErrorRate: 1% }
  - name: rooms-write
    match: POST /api/rooms
    service: dead
  - name: dead-get
    match: GET /dead/:id
    service: dead
  - name: slow-get
    match: GET /slow/:id
    service: slow
    limit: { concurrent: 1 }
`,
  );
  t.teardown(() => running.stop());
  const admin = (p: string, init: RequestInit = {}) => fetch(`${running.adminUrl}${p}`, { ...init, headers: { authorization: `Bearer ${OPERATOR}`, 'content-type': 'application/json', ...init.headers } });

  const promoted = await admin('/routes/rooms-get/promote', { method: 'POST', body: JSON.stringify({ reason: 'metrics test' }) });
  t.equal(promoted.status, 200);
  // many ids and unknown paths: none of them may become a label
  for (let i = 0; i < 30; i++) await request(`${running.url}/api/rooms/${1000 + i}`, { headers: { 'x-user-id': `u${i}` } });
  for (let i = 0; i < 10; i++) await request(`${running.url}/nowhere/${i}-${Math.random()}`);
  const write = await request(`${running.url}/api/rooms`, { method: 'POST', body: '{"name":"x"}', headers: { 'content-type': 'application/json' } });
  t.equal(write.status, 502, 'a write to a dead service fails cleanly');
  const read = await request(`${running.url}/dead/1`);
  t.equal(read.status, 200, 'a read the dead service refused is answered by legacy');
  t.equal(read.headers['x-strangler-target'], 'legacy');
  const admitted = request(`${running.url}/slow/1`);
  await eventually(() => held.length === 1);
  const shed = await request(`${running.url}/slow/2`);
  t.equal(shed.status, 503, 'the second concurrent request of slow-get is shed');
  held.shift()!.end('slow');
  t.equal((await admitted).status, 200);

  const res = await fetch(`${running.adminUrl}/metrics`, { headers: { authorization: `Bearer ${READER}` } });
  t.equal(res.status, 200);
  t.match(res.headers.get('content-type'), /^text\/plain; version=0\.0\.4/);
  const text = await res.text();
  const value = (series: string) => {
    const line = text.split('\n').find((l) => l.startsWith(`${series} `));
    return line === undefined ? undefined : Number(line.slice(series.length + 1));
  };
  t.equal(value('strangler_route_share_percent{route="rooms-get"}'), 50, 'the share the promote set');
  t.equal(value('strangler_rollout_step{route="rooms-get"}'), 1, 'the plan is at its first step');
  t.equal(value('strangler_route_share_percent{route="rooms-write"}'), 100, 'a share nobody changed through this proxy, read from the flags file');
  t.equal(value('strangler_upstream_errors_total{route="rooms-write",target="dead",kind="refused"}'), 1, 'the refused write, by kind');
  t.equal(value('strangler_shed_total{scope="slow-get",reason="route-concurrency"}'), 1, 'the shed request, by route and reason');
  t.equal(value('strangler_fallbacks_total{route="dead-get",target="dead",cause="refused"}'), 1, 'the fallback to legacy, by its cause');
  t.equal(value('strangler_upstream_errors_total{route="dead-get",target="dead",kind="refused"}'), 1, 'and the refusal counts against the service');
  t.equal(value('strangler_requests_total{route="dead-get",target="legacy"}'), 1, 'the request itself was answered by legacy');
  t.equal(value('strangler_responses_total{route="slow-get",target="shed",status_class="5xx"}'), 1);
  const served = (value('strangler_requests_total{route="rooms-get",target="rooms"}') ?? 0) + (value('strangler_requests_total{route="rooms-get",target="legacy"}') ?? 0);
  t.equal(served, 30, 'every rooms-get request counted once, under its route');
  t.equal(value('strangler_requests_total{route="(unmatched)",target="legacy"}'), 10, 'unknown paths are one (unmatched) series');
  t.match(text, /^process_cpu_user_seconds_total \d/m, 'process metrics');

  const labels = new Map<string, Set<string>>();
  for (const line of text.split('\n')) {
    if (!line.startsWith('strangler_')) continue;
    for (const [, name, v] of line.matchAll(/(\w+)="([^"]*)"/g)) {
      if (!labels.has(name)) labels.set(name, new Set());
      labels.get(name)!.add(v);
    }
  }
  t.same([...labels.get('route')!].sort(), ['(unmatched)', 'dead-get', 'rooms-get', 'rooms-write', 'slow-get'], 'route labels are route names');
  t.same([...labels.get('target')!].sort(), ['dead', 'legacy', 'rooms', 'shed', 'slow'], 'target labels are upstream names');
  for (const [name, values] of labels) t.notOk([...values].some((v) => v.includes('/')), `no path in the ${name} label`);
});
