import type { IncomingMessage } from 'node:http';
import t from 'tap';
import { validateConfig } from '../../proxy/config/validate-config.ts';
import { buildContext, readCookie } from '../../proxy/flags/build-context.ts';
import { rolloutFeature } from '../../proxy/flags/flags-file.ts';
import { request } from '../helpers/http.ts';
import { startProxyFixture } from '../helpers/proxy.ts';

const FILE = '/etc/strangler/routes.yaml';
const HEAD = 'legacy: http://127.0.0.1:8000\nroutes: []\n';
const check = (context: string) => validateConfig(`${HEAD}context:\n${context}`, FILE, {});
const req = (headers: Record<string, string>) => ({ headers, socket: { remoteAddress: '192.0.2.7' } }) as unknown as IncomingMessage;

/** WordPress's login cookie: wordpress_logged_in_<md5 of the site URL>=user|expiry|token|hmac, %-encoded. */
const SITE_HASH = '86a9106ae65537651a8e456835b316ab';
const wordpressLogin = (user: string) => `wordpress_logged_in_${SITE_HASH}=${user}%7C1765432100%7Ctoken-${user}%7Chmac-${user}`;

t.test('context sources: cookiePrefix and header are accepted, mistakes are located', async (t) => {
  const good = check('  userId: { cookiePrefix: wordpress_logged_in_ }\n  sessionId: { header: X-Session }\n');
  t.same(good.problems, []);
  t.same(good.config?.context.userId, { cookiePrefix: 'wordpress_logged_in_' });
  t.same(good.config?.context.sessionId, { header: 'x-session' }, 'a header name is matched in lower case');

  const star = check('  userId: { cookie: "wordpress_logged_in_*" }\n');
  t.match(star.problems, [{ file: FILE, line: 4, path: 'context.userId.cookie', message: /a cookie name is matched exactly; for the first cookie whose name starts with "wordpress_logged_in_" write cookiePrefix: wordpress_logged_in_/ }]);
  const both = check('  userId: { cookie: a, cookiePrefix: b }\n');
  t.match(both.problems, [{ line: 4, path: 'context.userId', message: /give exactly one of header, cookie or cookiePrefix/ }]);
  const empty = check('  sessionId: { cookiePrefix: "a b" }\n');
  t.match(empty.problems, [{ line: 4, path: 'context.sessionId.cookiePrefix', message: /"a b" is not the start of a cookie name/ }]);
  const typo = check('  userId: { cookiePrefx: wp_ }\n');
  t.match(typo.problems[0], { line: 4, message: /unknown key "cookiePrefx"; did you mean "cookiePrefix"\?/ });
});

t.test('readCookie by prefix: the first cookie whose name starts with it, never a value or a bare prefix', async (t) => {
  const p = 'wordpress_logged_in_';
  t.equal(readCookie(`wordpress_test_cookie=WP+Cookie+check; ${wordpressLogin('admin')}`, p, true), `admin%7C1765432100%7Ctoken-admin%7Chmac-admin`);
  t.equal(readCookie(`x=wordpress_logged_in_abc=1; wordpress_logged_in_def=2`, p, true), '2', 'a prefix inside a value is not a name');
  t.equal(readCookie(`xwordpress_logged_in_abc=1`, p, true), undefined, 'a name that only contains the prefix is not it');
  t.equal(readCookie(`wordpress_logged_in_=1; wordpress_logged_in_b=2`, p, true), '2', 'the prefix alone is not a whole name');
  t.equal(readCookie(`wordpress_logged_in_a=; wordpress_logged_in_b=2`, p, true), '2', 'an emptied cookie is skipped');
  t.equal(readCookie(`wordpress_logged_in_a; b=2`, p, true), undefined, 'a name without a value');
  t.equal(readCookie(undefined, p, true), undefined);
  t.equal(readCookie('wordpress_logged_in_abc=1', 'wordpress_logged_in_'), undefined, 'the exact form still matches exact names only');
});

t.test('buildContext reads userId from the prefixed cookie and sessionId from a header', async (t) => {
  const config = { userId: { cookiePrefix: 'wordpress_logged_in_' }, sessionId: { header: 'x-session' }, properties: {} };
  t.same(buildContext(req({ cookie: `comment_author=x; ${wordpressLogin('editor')}`, 'x-session': 's-1' }), config), {
    userId: 'editor%7C1765432100%7Ctoken-editor%7Chmac-editor',
    sessionId: 's-1',
    remoteAddress: '192.0.2.7',
  });
});

t.test('WordPress settings: each logged-in user stays on one side across requests at 50 %, and users split', async (t) => {
  const { proxy } = await startProxyFixture(t, {
    routes: '  - name: categories\n    match: GET /api/categories\n    service: rooms\n',
    extra: 'context:\n  userId: { cookiePrefix: wordpress_logged_in_ }\n',
    features: [rolloutFeature('categories', 50)],
  });
  const users = Array.from({ length: 60 }, (_, i) => `user${i}`);
  const sides = new Map<string, Set<string>>();
  for (let round = 0; round < 3; round++) {
    for (const user of users) {
      // what a browser sends after login: WordPress's other cookies around the login one
      const cookie = `wordpress_test_cookie=WP%20Cookie%20check; ${wordpressLogin(user)}; wp-settings-time-1=1765432100`;
      const reply = await request(`${proxy.url}/api/categories`, { headers: { cookie } });
      t.equal(reply.status, 200);
      (sides.get(user) ?? sides.set(user, new Set()).get(user)!).add(String(reply.headers['x-strangler-target']));
    }
  }
  const flipped = users.filter((u) => sides.get(u)!.size !== 1);
  t.same(flipped, [], 'no user changed sides between requests');
  const onService = users.filter((u) => sides.get(u)!.has('rooms')).length;
  // 60 users at 50 %: outside 15..45 has a probability below 1e-4
  t.ok(onService >= 15 && onService <= 45, `${onService} of 60 users on the service (expected 30, tolerance ±15)`);
});
