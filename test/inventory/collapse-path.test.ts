import t from 'tap';
import { assetPattern, collapsePath, isIdSegment, requestPath, requestQuery } from '../../proxy/inventory/collapse-path.ts';

t.test('ids become :id, words stay', async (t) => {
  const cases: Array<[string, string]> = [
    ['/', '/'],
    ['/api/rooms', '/api/rooms'],
    ['/api/rooms/42', '/api/rooms/:id'],
    ['/api/rooms/42/bookings/7', '/api/rooms/:id/bookings/:id'],
    ['/api/rooms/0', '/api/rooms/:id'],
    ['/orders/3f2504e0-4f89-11d3-9a0c-0305e82c3301', '/orders/:id'],
    ['/orders/3F2504E0-4F89-11D3-9A0C-0305E82C3301/items', '/orders/:id/items'],
    ['/files/deadbeef', '/files/:id'],
    ['/commits/9fceb02d0ae598e95dc970b74767f19372d61af8', '/commits/:id'],
    ['/users/u123', '/users/:id'],
    ['/reports/2024-01-05', '/reports/:id'],
    ['/blog/my-post-2024', '/blog/:id'],
    ['/tokens/a1b2c3', '/tokens/:id'],
    ['/invite/jane.doe@example.com', '/invite/:id'],
    ['/assets/app.3f9a1c.js', '/assets/:id'],
  ];
  for (const [path, pattern] of cases) t.equal(collapsePath(path), pattern, path);
});

t.test('words, short hex-looking words and API versions are kept', async (t) => {
  const kept = ['/api/v1/rooms', '/api/v2.1/rooms', '/V3/status', '/cafe', '/api/feed', '/index.php', '/room-types/deluxe', '/admin/Users', '/beef/added'];
  for (const path of kept) t.equal(collapsePath(path), path, path);
});

t.test('the query and the fragment are dropped, before or after collapsing', async (t) => {
  t.equal(collapsePath('/api/rooms?page=2'), '/api/rooms');
  t.equal(collapsePath('/api/rooms/42?expand=owner#top'), '/api/rooms/:id');
  t.equal(collapsePath('/search?q=/api/rooms/42'), '/search', 'a path inside the query is not a path');
  t.equal(collapsePath('/?x=1'), '/');
});

t.test('an absolute-form target loses scheme and host', async (t) => {
  t.equal(collapsePath('http://shop.example:8080/api/rooms/42?x=1'), '/api/rooms/:id');
  t.equal(collapsePath('https://shop.example'), '/');
  t.equal(requestPath('http://shop.example/a?b'), '/a');
});

t.test('percent escapes are not digits; an escaped digit still is one', async (t) => {
  t.equal(collapsePath('/city/New%20York'), '/city/New%20York');
  t.equal(collapsePath('/tags/caf%C3%A9'), '/tags/caf%C3%A9');
  t.equal(collapsePath('/rooms/%34%32'), '/rooms/:id', '%34%32 is 42');
  t.equal(collapsePath('/bad/%zz'), '/bad/%zz', 'malformed escapes do not throw');
  t.equal(collapsePath('/bad/%zz1'), '/bad/:id');
});

t.test('empty segments and trailing slashes are kept, so /a/ and /a stay apart as the router sees them', async (t) => {
  t.equal(collapsePath('/api/rooms/'), '/api/rooms/');
  t.equal(collapsePath('/api//rooms/5/'), '/api//rooms/:id/');
});

t.test('targets that are not paths are returned as they are', async (t) => {
  t.equal(collapsePath('*'), '*');
  t.equal(collapsePath(''), '');
});

t.test('isIdSegment', async (t) => {
  t.ok(isIdSegment('42'));
  t.ok(isIdSegment('ABCDEF12'));
  t.notOk(isIdSegment('facade'), 'six hex letters are a word');
  t.notOk(isIdSegment(''));
  t.notOk(isIdSegment('v2'));
  t.ok(isIdSegment('v2024'), 'not an API version: too many digits');
});

t.test('versions and words with digits are kinds, not ids (a real WordPress site)', async (t) => {
  const kept = [
    '/wp-json/oembed/1.0/embed',
    '/wp-json/wp/v2/categories',
    '/wp-json/wp-site-health/v1/tests/background-updates',
    '/api/1.0/status',
    '/api/2.0.1/status',
    '/feed/rss2/',
    '/docs/a11y',
    '/docs/i18n/l10n',
    '/charset/utf8',
    '/wp-json/wp-a11y/v1/settings',
    '/login/oauth2/callback',
  ];
  for (const path of kept) t.equal(collapsePath(path), path, path);
  t.equal(collapsePath('/wp-json/wp/v2/posts/12'), '/wp-json/wp/v2/posts/:id', 'the id after a version still is one');
  for (const id of ['u12', 'x86', 'order-42-x', 'my-post-2024', 'a1b2c3', 'sha256', 'v2024', '2024.11', 'deadbeef12']) t.ok(isIdSegment(id), `${id} is an id`);
});

t.test('static files are grouped by top folder and extension', async (t) => {
  t.equal(assetPattern('/wp-content/themes/twentytwentythree/style.css'), '/wp-content/**/*.css');
  t.equal(assetPattern('/wp-content/uploads/2026/11/harbour-1024x683.JPG'), '/wp-content/**/*.jpg', 'one group whatever the case');
  t.equal(assetPattern('/wp-includes/js/jquery/jquery.min.js'), '/wp-includes/**/*.js');
  t.equal(assetPattern('/favicon.ico'), '/*.ico');
  t.equal(assetPattern('/wp-login.php'), undefined);
  t.equal(assetPattern('/robots.txt'), undefined);
  t.equal(assetPattern('/api/rooms/42'), undefined);
});

t.test('the query of a request target', async (t) => {
  t.equal(requestQuery('/?rest_route=/wp/v2/categories#x'), 'rest_route=/wp/v2/categories');
  t.equal(requestQuery('/index.php?'), undefined);
  t.equal(requestQuery('/index.php'), undefined);
});
