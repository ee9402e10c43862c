import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import t, { type Test } from 'tap';
import { loadConfig } from '../../proxy/config/load-config.ts';
import { openStore } from '../../proxy/parity/open-configured-store.ts';
import type { ComparisonRecord } from '../../proxy/parity/records.ts';
import { runCli } from '../helpers/cli.ts';

const HOUR = 3_600_000;

function comparison(route: string, at: number, differs?: { path: string; legacy: unknown; service: unknown }): ComparisonRecord {
  return {
    at: new Date(at).toISOString(),
    route,
    source: 'shadow',
    outcome: differs ? 'mismatch' : 'match',
    primary: 'legacy',
    service: route,
    request: { method: 'GET', url: `/api/${route}/1`, headers: {} },
    differences: differs ? [{ path: differs.path, kind: 'changed', primary: differs.legacy, candidate: differs.service }] : [],
    noise: [],
  };
}

/**
 * A routes.yaml with two shadow routes and a store holding, for rooms, 3 matches and 1
 * mismatch from just now and 4 mismatches from two days ago; for diaries, 2 matches now.
 */
async function setup(t: Test) {
  const dir = t.testdir();
  const config = path.join(dir, 'routes.yaml');
  await writeFile(
    config,
    `legacy: http://127.0.0.1:1
services:
  rooms: http://127.0.0.1:2
  diaries: http://127.0.0.1:3
flags:
  file: flags.json
comparisons:
  database: sqlite:${path.join(dir, 'comparisons.sqlite')}
routes:
  - name: rooms
    match: GET /api/rooms/:id
    service: rooms
    stage: shadow
  - name: diaries
    match: GET /api/diaries/:id
    service: diaries
    stage: shadow
`,
  );
  const store = await openStore(await loadConfig(config));
  const now = Date.now();
  for (let i = 0; i < 3; i++) store.add(comparison('rooms', now - 1000));
  store.add(comparison('rooms', now - 1000, { path: '$.name', legacy: 'Quiet room', service: 'Loud room' }));
  for (let i = 0; i < 4; i++) store.add(comparison('rooms', now - 48 * HOUR, { path: '$.old', legacy: 1, service: 2 }));
  for (let i = 0; i < 2; i++) store.add(comparison('diaries', now - 1000));
  await store.close();
  return { parity: (...args: string[]) => runCli(['parity', '--config', config, ...args]) };
}

t.test('parity --json: one parity number per route, for the window', async (t) => {
  const { parity } = await setup(t);
  const res = await parity('--json');
  t.equal(res.code, 0, res.stderr);
  const report = JSON.parse(res.stdout);
  t.match(report, {
    source: 'all',
    routes: [
      { route: 'diaries', compared: 2, matches: 2, parity: 100 },
      { route: 'rooms', compared: 4, matches: 3, mismatches: 1, parity: 75 },
    ],
  });
  t.equal(report.routes.length, 2);
  t.same(report.routes[1].topDifferences.map((d: { pattern: string }) => d.pattern), ['$.name'], 'the two-day-old $.old differences are outside the default 24h');
});

t.test('parity <route> shows only that route, with its differing path and an example', async (t) => {
  const { parity } = await setup(t);
  const [json, text] = await Promise.all([parity('rooms', '--json'), parity('rooms')]);
  t.equal(json.code, 0, json.stderr);
  t.same(JSON.parse(json.stdout).routes.map((r: { route: string }) => r.route), ['rooms']);
  t.equal(text.code, 0, text.stderr);
  t.match(text.stdout, /rooms\s+4\s+3\s+1\s+0\s+0\s+75\.00 %/);
  t.match(text.stdout, /differs\s+\$\.name\s+×1\s+e\.g\. GET \/api\/rooms\/1: legacy "Quiet room", service "Loud room"/);
  t.notMatch(text.stdout, /diaries/, 'the other route is left out');
});

t.test('parity of an unknown route fails, naming the routes there are', async (t) => {
  const { parity } = await setup(t);
  const res = await parity('room');
  t.equal(res.code, 1);
  t.match(res.stderr, /no route named "room" in routes\.yaml; routes are: rooms, diaries/);
  t.match(res.stderr, /STRANGLER_ERR_UNKNOWN_ROUTE/);
  t.equal(res.stdout, '', 'no report is printed');
});

t.test('--since sets the window: older comparisons are left out, a wider window takes them in', async (t) => {
  const { parity } = await setup(t);
  const [recentRun, weekRun, bad] = await Promise.all([parity('rooms', '--json', '--since', '1h'), parity('rooms', '--json', '--since', '7d'), parity('--since', 'yesterday')]);
  const recent = JSON.parse(recentRun.stdout);
  t.match(recent.routes, [{ route: 'rooms', compared: 4, parity: 75 }], 'the last hour: only the recent comparisons');
  const week = JSON.parse(weekRun.stdout);
  t.match(week.routes, [{ route: 'rooms', compared: 8, matches: 3, mismatches: 5, parity: 37.5 }], 'seven days: the old mismatches count too');
  t.same(week.routes[0].topDifferences.map((d: { pattern: string; count: number }) => [d.pattern, d.count]), [['$.old', 4], ['$.name', 1]]);
  t.equal(bad.code, 2);
  t.match(bad.stderr, /--since "yesterday" is not a duration/);
});
