import { randomBytes } from 'node:crypto';
import type http from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { gzipSync } from 'node:zlib';
import t from 'tap';
import { buildComparator } from '../../proxy/comparison/compare.ts';
import { createNoiseLearner } from '../../proxy/comparison/noise.ts';
import { buildStoredParityReport } from '../../proxy/parity/build-parity-report.ts';
import { request } from '../helpers/http.ts';
import { startShadowFixture } from './shadow-fixture.ts';

/**
 * Defect 3 of issue 15: WordPress's oEmbed `html` holds a random secret, so `$.html` was learned
 * as noise and ignored whole, and a real difference in the same string (`&quot;` where
 * WordPress writes `&#8220;`) was never reported. Noise learning now masks the secret only.
 */

const secret = () => randomBytes(8).toString('base64url').replace(/[-_]/g, 'x').slice(0, 10);

/** An oEmbed answer as WordPress 6.1 writes it, with its per-request secret three times. */
function oembed(id: number, quote: '&#8220;' | '&quot;' = '&#8220;') {
  const s = secret();
  const url = `https://blog.example/2026/12/post-${id}/`;
  return {
    version: '1.0',
    provider_name: 'A real blog',
    title: `Post ${id}`,
    type: 'rich',
    width: 500,
    height: 282,
    html:
      `<blockquote class="wp-embedded-content" data-secret="${s}"><a href="${url}">${quote}Post ${id}${quote === '&quot;' ? '&quot;' : '&#8221;'}</a></blockquote>` +
      `<iframe sandbox="allow-scripts" security="restricted" src="${url}embed/#?secret=${s}" data-secret="${s}" width="500" height="282" title="&#8220;Post ${id}&#8221; &#8212; A real blog" frameborder="0" marginwidth="0" marginheight="0" scrolling="no" class="wp-embedded-content"></iframe>`,
  };
}

const idOf = (req: http.IncomingMessage) => Number(req.url!.split('/').pop());

/** A slow legacy that gzips, as nginx in front of WordPress does. */
function wordpress(req: http.IncomingMessage, res: http.ServerResponse) {
  req.resume();
  req.on('end', async () => {
    await sleep(100);
    res.writeHead(200, { 'content-type': 'application/json; charset=UTF-8', 'content-encoding': 'gzip' });
    res.end(gzipSync(JSON.stringify(oembed(idOf(req)))));
  });
}

/** The extracted service: right for post 1, writes &quot; for post 2. */
function service(req: http.IncomingMessage, res: http.ServerResponse) {
  req.resume();
  req.on('end', () => {
    res.writeHead(200, { 'content-type': 'application/json; charset=UTF-8' });
    res.end(JSON.stringify(oembed(idOf(req), idOf(req) === 2 ? '&quot;' : '&#8220;')));
  });
}

t.test('a random token inside a string is masked, not the string ignored: a real difference next to it is a mismatch naming the path', async (t) => {
  const { proxy, outcomes, store } = await startShadowFixture(t, { legacy: wordpress, candidate: service, shadow: 'noiseWarmup: 3, noiseSample: 0%, noiseDelay: 0' });
  const get = async (id: number) => {
    t.equal((await request(`${proxy.url}/api/rooms/${id}`, { headers: { 'accept-encoding': 'gzip, br' } })).status, 200);
    await outcomes();
    await proxy.proxy.state.shadow.noiseIdle();
  };
  await get(1); // before anything is learned: a mismatch at $.html
  await get(1);
  await get(1);
  t.same(await outcomes(), { mismatch: 1, match: 2 }, 'once the secret is masked, the same post matches');

  const entries = proxy.proxy.state.shadow.learner.report('rooms').entries;
  t.same(
    entries.map((e) => [e.kind, e.pattern, e.masks]),
    [['mask', '$.html', ['(?<=data-secret=")[A-Za-z0-9]{10}', '(?<=secret=)[A-Za-z0-9]{10}']]],
    'only masks of the secret are learned, no ignore of $.html',
  );
  t.equal(entries[0].suggestion, 'normalize: { "$.html": [{ mask: "(?<=data-secret=\\")[A-Za-z0-9]{10}" }, { mask: "(?<=secret=)[A-Za-z0-9]{10}" }] }  (masks only the varying token; the rest of the value is still compared)');

  await get(2);
  t.same(await outcomes(), { mismatch: 2, match: 2 }, 'the &quot; is a mismatch');
  const [latest] = await store.list({ limit: 1 });
  t.equal(latest.request.url, '/api/rooms/2');
  t.same(
    latest.differences.map((d) => d.path),
    ['$.html'],
    'naming the path',
  );

  const report = await buildStoredParityReport(store, { since: 0 });
  t.match(report.routes, [{ route: 'rooms', matches: 3, mismatches: 1 }], 'the first comparison, stored before the mask was learned, counts as a match; post 2 does not');
});

t.test('a mask written in routes.yaml applies from the first request', async (t) => {
  const { proxy, outcomes } = await startShadowFixture(t, {
    legacy: wordpress,
    candidate: service,
    route: `    compare:\n      normalize:\n        "$.html": [{ mask: '(?<=secret=)[A-Za-z0-9]{10}' }, { mask: '(?<=data-secret=")[A-Za-z0-9]{10}' }]\n`,
  });
  for (const id of [1, 1, 2]) t.equal((await request(`${proxy.url}/api/rooms/${id}`)).status, 200);
  t.same(await outcomes(), { match: 2, mismatch: 1 });
});

t.test('a value that varies as a whole is still learned as value noise', async (t) => {
  const learner = createNoiseLearner();
  const answer = (body: unknown) => ({ status: 200, headers: { 'content-type': 'application/json' }, body: Buffer.from(JSON.stringify(body)) });
  learner.observe('r', answer({ at: '2026-12-08T01:00:00Z', note: 'first text of a varying note' }), answer({ at: '2026-12-08T01:00:01Z', note: 'a wholly different sentence now' }));
  t.same(
    learner.report('r').entries.map((e) => [e.kind, e.pattern]),
    [
      ['value', '$.at'],
      ['value', '$.note'],
    ],
  );
  const compare = buildComparator({}, learner.optionsFor('r'));
  t.equal(compare(answer({ at: 'x', note: 'y' }), answer({ at: 'z', note: 'w' })).outcome, 'match');
});

t.test('a page that differs only in its nonces is masked too: a changed word in it is a mismatch at body', async (t) => {
  const page = (id: number, word = 'Leave') => {
    const nonce = randomBytes(5).toString('hex');
    return `<!doctype html><html><body><article><h1>Post ${id}</h1><p>Hello world.</p></article><form id="commentform"><input type="hidden" name="_wpnonce" value="${nonce}"><p>${word} a reply</p></form><script>var wpApiSettings = {"nonce":"${nonce}"};</script></body></html>`;
  };
  const html = (word?: (id: number) => string, gzip = false) => (req: http.IncomingMessage, res: http.ServerResponse) => {
    req.resume();
    req.on('end', () => {
      const body = Buffer.from(page(idOf(req), word?.(idOf(req))));
      res.writeHead(200, { 'content-type': 'text/html; charset=UTF-8', ...(gzip ? { 'content-encoding': 'gzip' } : {}) });
      res.end(gzip ? gzipSync(body) : body);
    });
  };
  const { proxy, outcomes, store } = await startShadowFixture(t, {
    legacy: html(undefined, true),
    candidate: html((id) => (id === 2 ? 'Post' : 'Leave')),
    shadow: 'noiseWarmup: 3, noiseSample: 0%, noiseDelay: 0',
  });
  for (const id of [1, 1, 1, 2]) {
    t.equal((await request(`${proxy.url}/api/rooms/${id}`, { headers: { 'accept-encoding': 'gzip' } })).status, 200);
    await outcomes();
    await proxy.proxy.state.shadow.noiseIdle();
  }
  t.same(await outcomes(), { mismatch: 2, match: 2 }, 'the first (before learning) and the changed word');
  const [latest] = await store.list({ limit: 1 });
  t.equal(latest.request.url, '/api/rooms/2');
  t.same(latest.differences.map((d) => d.path), ['body']);
  t.match(latest.differences[0].candidate, /Post a reply/);
  const entries = proxy.proxy.state.shadow.learner.report('rooms').entries;
  t.same(
    entries.map((e) => [e.kind, e.pattern, e.masks]),
    [['mask', 'body', ['(?<=value=")[0-9a-f]{10}', '(?<=nonce":")[0-9a-f]{10}']]],
  );
});
