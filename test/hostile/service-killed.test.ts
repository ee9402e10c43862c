import { spawn } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { request, startUpstream } from '../helpers/http.ts';
import { on, startTestProxy } from '../helpers/proxy.ts';

/**
 * A service SIGKILLed under a bounded, concurrent load. Safe requests must never fail (legacy
 * answers them when the service does not), and every write must be executed at most once, with
 * the client's answer telling the truth about it: a 2xx means executed exactly once, where the
 * answer says; a gateway error (502/503/504) means executed at most once; nothing is executed on
 * both sides or twice on one.
 */

const SERVICE = fileURLToPath(new URL('./helpers/counting-service.ts', import.meta.url));
const WORKERS = 8;
const REQUESTS_PER_WORKER = 250;
/** the service is killed once this share of the load has been answered */
const KILL_AT = 0.4;
const GATEWAY_ERRORS = new Set([502, 503, 504]);

/** mulberry32, so the mix of GETs and POSTs is the same on every run */
function createRandom(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = a;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

interface Answer {
  method: 'GET' | 'POST';
  id: string;
  status: number | string;
  source?: string;
}

for (const stage of ['canary', 'cutover'] as const) {
  t.test(`${stage}: the service is SIGKILLed under load; no GET fails, no POST runs twice, every answer tells the truth`, async (t) => {
    const dir = t.testdir();
    const executedFile = path.join(dir, 'service-executed.txt');
    await writeFile(executedFile, '');
    const child = spawn(process.execPath, ['--import', 'tsx', SERVICE, executedFile], { stdio: ['ignore', 'pipe', 'inherit'] });
    t.teardown(() => void child.kill('SIGKILL'));
    const exited = new Promise((resolve) => child.once('exit', resolve));
    const serviceUrl = await new Promise<string>((resolve, reject) => {
      child.stdout.once('data', (d: Buffer) => resolve(d.toString().trim()));
      child.once('exit', () => reject(new Error('the service did not start')));
    });

    const legacyExecuted: string[] = [];
    const legacy = await startUpstream('legacy', (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        if (req.method === 'POST') {
          const { id } = JSON.parse(Buffer.concat(chunks).toString()) as { id: string };
          legacyExecuted.push(id);
          res.writeHead(201, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ id, source: 'legacy' }));
          return;
        }
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ url: req.url, source: 'legacy' }));
      });
    });
    const proxy = await startTestProxy({
      dir,
      legacy: legacy.url,
      services: { items: serviceUrl },
      features: [on('items')],
      // a short openFor: half-open probes go to the dead service while the load runs
      extra: 'upstreamTimeout: 5s\nbreaker:\n  failures: 3\n  openFor: 1s',
      routes: `  - name: items\n    match: GET,POST /api/items/*\n    service: items\n    stage: ${stage}\n`,
    });
    t.teardown(async () => {
      await proxy.close();
      await legacy.close();
    });

    const total = WORKERS * REQUESTS_PER_WORKER;
    const answers: Answer[] = [];
    let killedAfter = -1;
    const send = async (method: 'GET' | 'POST', id: string): Promise<Answer> => {
      try {
        const res =
          method === 'GET'
            ? await request(`${proxy.url}/api/items/${id}`)
            : await request(`${proxy.url}/api/items/new`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ id }) });
        let source: string | undefined;
        try {
          source = res.json().source;
        } catch {
          source = undefined;
        }
        return { method, id, status: res.status, source };
      } catch (err) {
        return { method, id, status: `no answer: ${(err as Error).message}` };
      }
    };
    const worker = async (w: number) => {
      const random = createRandom(1000 + w);
      for (let i = 0; i < REQUESTS_PER_WORKER; i++) {
        const method = random() < 0.5 ? 'GET' : 'POST';
        answers.push(await send(method, `w${w}-${i}`));
        if (killedAfter < 0 && answers.length >= total * KILL_AT) {
          killedAfter = answers.length;
          child.kill('SIGKILL');
        }
      }
    };
    const started = Date.now();
    await Promise.all(Array.from({ length: WORKERS }, (_, w) => worker(w)));
    await exited;
    t.comment(`${total} requests in ${Date.now() - started} ms; the service was killed after ${killedAfter}`);

    const gets = answers.filter((a) => a.method === 'GET');
    const posts = answers.filter((a) => a.method === 'POST');
    const failedGets = gets.filter((a) => a.status !== 200);
    t.same(failedGets.slice(0, 5), [], `every GET got 200 (${failedGets.length} of ${gets.length} did not)`);

    const serviceExecuted = (await readFile(executedFile, 'utf8')).split('\n').filter(Boolean);
    const count = (list: string[]) => list.reduce((m, id) => m.set(id, (m.get(id) ?? 0) + 1), new Map<string, number>());
    const byService = count(serviceExecuted);
    const byLegacy = count(legacyExecuted);
    const fates = posts.map((p) => ({ ...p, service: byService.get(p.id) ?? 0, legacy: byLegacy.get(p.id) ?? 0 }));

    const twice = fates.filter((f) => f.service + f.legacy > 1);
    t.same(twice.slice(0, 5), [], `no POST was executed twice anywhere (${twice.length} were)`);
    const unexpected = fates.filter((f) => !(typeof f.status === 'number' && ((f.status >= 200 && f.status < 300) || GATEWAY_ERRORS.has(f.status))));
    t.same(unexpected.slice(0, 5), [], `every POST was answered 2xx or 502/503/504 (${unexpected.length} were not)`);
    const untruthful = fates.filter((f) => typeof f.status === 'number' && f.status >= 200 && f.status < 300 && !(f.source === 'service' ? f.service === 1 && f.legacy === 0 : f.source === 'legacy' && f.legacy === 1 && f.service === 0));
    t.same(untruthful.slice(0, 5), [], `every 2xx POST was executed exactly once, by the side that answered (${untruthful.length} were not)`);
    const known = new Set(posts.map((p) => p.id));
    const strays = [...byService.keys(), ...byLegacy.keys()].filter((id) => !known.has(id));
    t.same(strays, [], 'nothing was executed that no client sent');

    const ok = fates.filter((f) => typeof f.status === 'number' && f.status < 300);
    const failed = fates.filter((f) => typeof f.status === 'number' && GATEWAY_ERRORS.has(f.status));
    t.comment(
      `POSTs: ${posts.length}; 2xx by service ${ok.filter((f) => f.source === 'service').length}, by legacy ${ok.filter((f) => f.source === 'legacy').length}; ` +
        `gateway errors ${failed.length} (executed by the service before it died: ${failed.filter((f) => f.service === 1).length})`,
    );
    t.ok(ok.some((f) => f.source === 'service'), 'the service executed writes before it was killed');
    t.ok(ok.some((f) => f.source === 'legacy'), 'legacy executed writes once the breaker had opened');
  });
}
