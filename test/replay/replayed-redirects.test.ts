import { readFile, writeFile } from 'node:fs/promises';
import type http from 'node:http';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import { runCli } from '../helpers/cli.ts';
import { startUpstream } from '../helpers/http.ts';

/**
 * Replay asks legacy and the service directly, not through the proxy: each names its own origin
 * in an absolute Location (WordPress's trailing-slash redirects do). Compared as the client would
 * have got them through the proxy, the same redirect is a match; a redirect elsewhere is not.
 */

function redirecting(selfUrl: () => string, slowMs: number) {
  return async (req: http.IncomingMessage, res: http.ServerResponse) => {
    req.resume();
    await sleep(slowMs);
    const target = req.url === '/moved/2' ? '/elsewhere/' : `${req.url}/`;
    res.writeHead(301, { location: `${selfUrl()}${target}`, 'content-type': 'text/html' });
    res.end('moved');
  };
}

t.test('absolute redirects to each upstream\'s own origin replay as a match; a different target is a mismatch at location', async (t) => {
  let legacyUrl = '';
  let serviceUrl = '';
  const legacy = await startUpstream('legacy', redirecting(() => legacyUrl, 100));
  const service = await startUpstream('pages', async (req, res) => {
    req.resume();
    res.writeHead(301, { location: `${serviceUrl}${req.url}/`, 'content-type': 'text/html' });
    res.end('moved');
  });
  legacyUrl = legacy.url;
  serviceUrl = service.url;
  t.teardown(async () => {
    await legacy.close();
    await service.close();
  });
  const dir = t.testdir();
  const traffic = path.join(dir, 'traffic.jsonl');
  const line = (id: number) => JSON.stringify({ at: new Date().toISOString(), route: 'pages', request: { method: 'GET', url: `/moved/${id}`, headers: { host: 'shop.example:8080' } } });
  await writeFile(traffic, `${line(1)}\n${line(2)}\n`);
  await writeFile(path.join(dir, 'replay.yaml'), `legacy: ${legacy.url}\nservices:\n  pages: ${service.url}\nflags:\n  file: flags.json\nroutes:\n  - name: pages\n    match: GET /moved/:id\n    service: pages\n    compare:\n      headers: [content-type, location]\n`);
  const report = path.join(dir, 'report.json');
  const res = await runCli(['replay', traffic, '--config', path.join(dir, 'replay.yaml'), '--no-store', '--noise-warmup', '0', '--report', report]);
  t.equal(res.code, 1, 'one real mismatch fails the replay');
  const parity = JSON.parse(await readFile(report, 'utf8'));
  const [route] = parity.routes;
  t.equal(route.compared, 2);
  t.equal(route.matches, 1, 'the same redirect, each from its own origin, is a match');
  t.equal(route.mismatches, 1, 'a redirect to another place is a mismatch');
  t.match(JSON.stringify(route.topDifferences), /location/i, 'named at the Location header');
});
