import type http from 'node:http';
import t from 'tap';
import { request, startUpstream } from '../helpers/http.ts';
import { on, startTestProxy } from '../helpers/proxy.ts';
import { startShadowFixture } from '../shadow/shadow-fixture.ts';

/**
 * Issue 15, defect 2: WordPress answered GET /wp-admin with 301 Location: http://127.0.0.1:28000/wp-admin/
 * (its own address) and the browser left the proxy, past every flag. An upstream's redirects to
 * its own origin now come back naming the origin the client used.
 */

/** An upstream that answers like a PHP app behind nginx: after 100 ms, with the headers `answer` builds from its own address. */
function redirecting(answer: (self: string, req: http.IncomingMessage) => { status: number; headers: Record<string, string> }) {
  let self = '';
  const upstream = startUpstream('app', (req, res) => {
    req.resume();
    setTimeout(() => {
      const { status, headers } = answer(self, req);
      res.writeHead(status, { 'content-type': 'text/html; charset=UTF-8', ...headers });
      res.end('<html><body>moved</body></html>');
    }, 100);
  });
  return upstream.then((u) => {
    self = u.url;
    return u;
  });
}

const HOST = 'shop.test:8443';

t.test('a 301 to legacy\'s own origin names the proxy\'s origin as the client used it, Host port included', async (t) => {
  const legacy = await redirecting((self, req) => ({ status: 301, headers: { location: `${self}${req.url}/` } }));
  const proxy = await startTestProxy({ dir: t.testdir(), legacy: legacy.url });
  t.teardown(async () => {
    await proxy.close();
    await legacy.close();
  });
  const res = await request(`${proxy.url}/wp-admin`, { headers: { host: HOST } });
  t.equal(res.status, 301);
  t.equal(res.headers.location, `http://${HOST}/wp-admin/`, 'the browser stays on the proxy');
  t.equal(legacy.seen[0].headers.host, HOST, 'legacy was sent the client\'s Host');
});

t.test('relative Locations and other origins are sent as written; the default port and case do not hide the upstream', async (t) => {
  const locations = new Map<string, string>();
  const legacy = await redirecting((_self, req) => ({ status: 302, headers: { location: locations.get(req.url!)! } }));
  const port = new URL(legacy.url).port;
  locations.set('/relative', '/wp-login.php?redirect_to=%2Fwp-admin%2F&reauth=1');
  locations.set('/foreign', 'https://accounts.example.com/o/oauth2/auth?redirect_uri=http://127.0.0.1:' + port + '/cb');
  locations.set('/upper', `HTTP://127.0.0.1:${port}/Path?q=1#top`);
  locations.set('/network-path', `//127.0.0.1:${port}/x`);
  locations.set('/other-port', `http://127.0.0.1:1/x`);
  locations.set('/to-https', `https://127.0.0.1:${port}/secure`);
  const proxy = await startTestProxy({ dir: t.testdir(), legacy: legacy.url });
  t.teardown(async () => {
    await proxy.close();
    await legacy.close();
  });
  const location = async (path: string) => (await request(`${proxy.url}${path}`, { headers: { host: HOST } })).headers.location;
  t.equal(await location('/relative'), '/wp-login.php?redirect_to=%2Fwp-admin%2F&reauth=1', 'relative: untouched');
  t.equal(await location('/foreign'), locations.get('/foreign'), 'another origin: untouched, even when its query names the upstream');
  t.equal(await location('/upper'), `http://${HOST}/Path?q=1#top`, 'scheme and host case do not matter; path, query and fragment kept byte for byte');
  t.equal(await location('/network-path'), `//${HOST}/x`);
  t.equal(await location('/other-port'), 'http://127.0.0.1:1/x', 'another port is another origin');
  t.equal(await location('/to-https'), `https://127.0.0.1:${port}/secure`, 'a change of scheme is the app\'s own decision: untouched');
});

t.test('Refresh and Content-Location are rewritten the same way', async (t) => {
  const legacy = await redirecting((self) => ({
    status: 200,
    headers: { refresh: `5; url=${self}/wp-login.php?loggedout=true`, 'content-location': `${self}/index.php` },
  }));
  const proxy = await startTestProxy({ dir: t.testdir(), legacy: legacy.url });
  t.teardown(async () => {
    await proxy.close();
    await legacy.close();
  });
  const res = await request(`${proxy.url}/wp-login.php?action=logout`, { headers: { host: HOST } });
  t.equal(res.headers.refresh, `5; url=http://${HOST}/wp-login.php?loggedout=true`);
  t.equal(res.headers['content-location'], `http://${HOST}/index.php`);
});

t.test('behind a trusted TLS-terminating balancer the scheme is its X-Forwarded-Proto; from anyone else it is the connection\'s', async (t) => {
  // the app builds its URL from the Host it is sent, with the scheme it thinks it has (http)
  const legacy = await redirecting((self, req) => ({ status: 302, headers: { location: req.url === '/own' ? `${self}/wp-admin/` : `http://${req.headers.host}/wp-admin/` } }));
  const trusted = await startTestProxy({ dir: t.testdir(), legacy: legacy.url, extra: 'forwarded:\n  trust: [127.0.0.1/32]' });
  const untrusted = await startTestProxy({ dir: t.testdir(), legacy: legacy.url });
  t.teardown(async () => {
    await trusted.close();
    await untrusted.close();
    await legacy.close();
  });
  const headers = { host: 'shop.test', 'x-forwarded-proto': 'https' };
  t.equal((await request(`${trusted.url}/own`, { headers })).headers.location, 'https://shop.test/wp-admin/');
  t.equal((await request(`${trusted.url}/from-host`, { headers })).headers.location, 'https://shop.test/wp-admin/', 'http://<its Host>/ is the upstream\'s own origin too');
  t.equal((await request(`${untrusted.url}/own`, { headers })).headers.location, 'http://shop.test/wp-admin/', 'an untrusted client cannot choose the scheme');
});

t.test('a service\'s redirects are rewritten from its own origin; redirects: keep leaves an upstream\'s as written', async (t) => {
  const legacy = await redirecting((self) => ({ status: 302, headers: { location: `${self}/legacy-login` } }));
  const rooms = await redirecting((self) => ({ status: 303, headers: { location: `${self}/api/rooms/7` } }));
  const proxy = await startTestProxy({
    dir: t.testdir(),
    legacy: `{ url: ${legacy.url}, redirects: keep }`,
    services: { rooms: rooms.url },
    routes: '  - { name: rooms-create, match: GET /api/rooms/new, service: rooms }',
    features: [on('rooms-create')],
  });
  t.teardown(async () => {
    await proxy.close();
    await Promise.all([legacy.close(), rooms.close()]);
  });
  t.equal((await request(`${proxy.url}/api/rooms/new`, { headers: { host: HOST } })).headers.location, `http://${HOST}/api/rooms/7`);
  t.equal((await request(`${proxy.url}/elsewhere`, { headers: { host: HOST } })).headers.location, `${legacy.url}/legacy-login`, 'legacy: redirects: keep');
});

t.test('when legacy answers for a failed service (fallback), its redirect is rewritten from legacy\'s origin', async (t) => {
  const legacy = await redirecting((self) => ({ status: 301, headers: { location: `${self}/api/rooms/1/` } }));
  const rooms = await startUpstream('rooms', (req, res) => {
    req.resume();
    res.writeHead(503, { location: 'http://127.0.0.1:1/never' });
    res.end();
  });
  const proxy = await startTestProxy({
    dir: t.testdir(),
    legacy: legacy.url,
    services: { rooms: rooms.url },
    routes: '  - { name: rooms-get, match: GET /api/rooms/:id, service: rooms }',
    features: [on('rooms-get')],
  });
  t.teardown(async () => {
    await proxy.close();
    await Promise.all([legacy.close(), rooms.close()]);
  });
  const res = await request(`${proxy.url}/api/rooms/1`, { headers: { host: HOST } });
  t.equal(res.status, 301);
  t.equal(res.headers['x-strangler-target'], 'legacy');
  t.equal(res.headers.location, `http://${HOST}/api/rooms/1/`);
});

t.test('shadow: legacy and the service each redirecting to their own origin is a match, compared as the client sees them', async (t) => {
  const answer = (port: () => string) => (req: http.IncomingMessage, res: http.ServerResponse) => {
    req.resume();
    setTimeout(() => {
      res.writeHead(301, { 'content-type': 'text/html', location: `http://127.0.0.1:${port()}${req.url}/`, refresh: `0; url=http://127.0.0.1:${port()}/` });
      res.end('moved');
    }, 100);
  };
  let legacyPort = '';
  let roomsPort = '';
  const { legacy, rooms, proxy, outcomes } = await startShadowFixture(t, {
    legacy: answer(() => legacyPort),
    candidate: answer(() => roomsPort),
    route: '    compare: { headers: [content-type, location, refresh] }',
  });
  legacyPort = new URL(legacy.url).port;
  roomsPort = new URL(rooms.url).port;
  const res = await request(`${proxy.url}/api/rooms/1`, { headers: { host: HOST } });
  t.equal(res.headers.location, `http://${HOST}/api/rooms/1/`);
  t.same(await outcomes(), { match: 1 }, 'the two origins are not a difference');
});
