import t from 'tap';
import { closedPort, request, startUpstream } from '../helpers/http.ts';
import { startTestProxy } from '../helpers/proxy.ts';
import { prefersHtml } from '../../proxy/forward/upstream-error.ts';

/** Issue 15: a browser shown the proxy's 502 got raw JSON; it now gets a short page with the code and request id. */

const BROWSER = 'text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8';

t.test('a 502 answers a browser with an HTML page holding the status, message, code and request id, escaped', async (t) => {
  const port = await closedPort();
  const proxy = await startTestProxy({ dir: t.testdir(), legacy: `http://127.0.0.1:${port}` });
  t.teardown(() => proxy.close());
  const res = await request(`${proxy.url}/wp-admin/?q=<script>`, { headers: { accept: BROWSER } });
  t.equal(res.status, 502);
  t.match(res.headers['content-type'], /^text\/html; charset=utf-8$/);
  t.equal(res.headers['x-strangler-error'], 'STRANGLER_ERR_UPSTREAM_UNREACHABLE');
  t.equal(res.headers.vary, 'accept');
  t.equal(Number(res.headers['content-length']), res.body.length);
  const reqId = proxy.logs.find((l) => l.msg === 'upstream failed')!.reqId;
  t.match(res.text, /^<!doctype html>/);
  t.match(res.text, '<title>502 Bad Gateway</title>');
  t.match(res.text, `<code>${reqId}</code>`);
  t.match(res.text, 'STRANGLER_ERR_UPSTREAM_UNREACHABLE');
  t.match(res.text, '&quot;legacy&quot;', 'the message is escaped');
  t.notMatch(res.text, /<script/);
});

t.test('an API client (JSON, */*, or no Accept) keeps the JSON error', async (t) => {
  const port = await closedPort();
  const proxy = await startTestProxy({ dir: t.testdir(), legacy: `http://127.0.0.1:${port}` });
  t.teardown(() => proxy.close());
  for (const accept of [undefined, '*/*', 'application/json', 'application/json, text/html', 'text/html;q=0.5, application/json']) {
    const res = await request(`${proxy.url}/api/rooms/1`, { headers: accept === undefined ? {} : { accept } });
    t.equal(res.status, 502, String(accept));
    t.match(res.headers['content-type'], /^application\/json/, String(accept));
    t.equal(res.json().error.code, 'STRANGLER_ERR_UPSTREAM_UNREACHABLE');
  }
});

t.test('a 504 and a proxy refusal (400) are pages for a browser too', async (t) => {
  const slow = await startUpstream('slow', () => {
    /* never answers */
  });
  const proxy = await startTestProxy({ dir: t.testdir(), legacy: slow.url, extra: 'upstreamTimeout: 300ms' });
  t.teardown(async () => {
    await proxy.close();
    await slow.close();
  });
  const timeout = await request(`${proxy.url}/slow`, { headers: { accept: BROWSER } });
  t.equal(timeout.status, 504);
  t.match(timeout.text, '<title>504 Gateway Timeout</title>');
  const refused = await request(`${proxy.url}/a%2`, { headers: { accept: BROWSER } });
  t.equal(refused.status, 400);
  t.match(refused.headers['content-type'], /^text\/html/);
  t.match(refused.text, 'STRANGLER_ERR_BAD_REQUEST_TARGET');
});

t.test('Accept is read by q-value and specificity', async (t) => {
  t.equal(prefersHtml(BROWSER), true, 'a browser navigation');
  t.equal(prefersHtml('text/html'), true);
  t.equal(prefersHtml('application/json;q=0.5, text/html'), true);
  t.equal(prefersHtml('text/html, application/json'), false, 'a tie: JSON, as before');
  t.equal(prefersHtml('text/html;q=0.2, */*'), false, 'the most specific range gives text/html its q');
  t.equal(prefersHtml('text/html;q=0'), false, 'q=0 is "not acceptable"');
  t.equal(prefersHtml('application/xhtml+xml'), false);
  t.equal(prefersHtml(undefined), false);
});
