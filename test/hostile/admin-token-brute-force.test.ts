import http from 'node:http';
import type { AddressInfo } from 'node:net';
import t, { type Test } from 'tap';
import { buildAdminApp } from '../../proxy/admin/admin-app.ts';
import type { AuditLog } from '../../proxy/admin/audit-log.ts';
import { createAuthThrottle, type AuthThrottleOptions } from '../../proxy/admin/auth-throttle.ts';
import { createCapturingLogger, createFakeController, TOKENS } from '../helpers/admin.ts';

/**
 * Regression: the admin API answered 300 wrong tokens in 178 ms, so a token could be guessed
 * as fast as the network allowed. After 10 wrong tokens within a minute an address is refused
 * with 429 and Retry-After for a minute, even with the right token; other addresses are not.
 */

/** the audit log is not what these tests are about */
const NO_AUDIT: AuditLog = { append: async () => {}, list: async () => [] };

function build(t: Test, throttle?: Partial<AuthThrottleOptions>) {
  const { logger, lines } = createCapturingLogger();
  const app = buildAdminApp({
    controller: createFakeController().controller,
    audit: NO_AUDIT,
    tokens: TOKENS,
    logger,
    readiness: () => ({ ready: true, checks: {} }),
    throttle,
  });
  t.teardown(() => app.close());
  return { app, lines };
}

/** GET path from a chosen local address (all of 127.0.0.0/8 is loopback on Linux) over a real socket */
function get(url: string, path: string, from: string, token?: string): Promise<{ status: number; retryAfter?: string; code?: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get(`${url}${path}`, { localAddress: from, headers: token ? { authorization: `Bearer ${token}` } : {} }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (body += d));
      res.on('end', () => {
        const code = body.startsWith('{') ? JSON.parse(body).error?.code : undefined;
        resolve({ status: res.statusCode!, retryAfter: res.headers['retry-after'], code });
      });
    });
    req.on('error', reject);
  });
}

t.test('over real sockets: 30 wrong tokens get 10 answers of 401, then 429 with Retry-After, even for the right token; another address is not affected', async (t) => {
  const { app, lines } = build(t);
  await app.listen({ host: '127.0.0.1', port: 0 });
  const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  const ATTACKER = '127.0.0.1';
  const OTHER = '127.0.0.2';

  t.equal((await get(url, '/routes', ATTACKER, TOKENS.read)).status, 200, 'the right token before the failures works');

  const statuses: number[] = [];
  for (let i = 0; i < 30; i++) statuses.push((await get(url, '/routes', ATTACKER, `guess-${i}`)).status);
  t.same(statuses, [...Array(10).fill(401), ...Array(20).fill(429)], 'ten verdicts, then refused');

  const refused = await get(url, '/routes', ATTACKER, TOKENS.operator);
  t.equal(refused.status, 429, 'the right token from that address is refused too');
  t.equal(refused.code, 'STRANGLER_ERR_ADMIN_THROTTLED');
  t.ok(Number(refused.retryAfter) > 0 && Number(refused.retryAfter) <= 60, `Retry-After ${refused.retryAfter} s`);
  t.equal((await get(url, '/healthz', ATTACKER)).status, 200, 'probes need no token and are never refused');

  t.equal((await get(url, '/routes', OTHER, TOKENS.read)).status, 200, 'another address is not affected');
  t.equal((await get(url, '/routes', OTHER, 'guess')).status, 401, 'and has its own count');

  t.equal(lines.filter((l) => l.msg === 'admin address throttled').length, 1, 'the block is logged once');
  t.match(lines.find((l) => l.msg === 'admin address throttled'), { level: 40, remoteAddress: ATTACKER, retryAfterS: 60 });
});

t.test('with a clock: the block ends after a minute, old failures leave the window, successes do not reset the count', async (t) => {
  let now = 1_000_000;
  const { app } = build(t, { now: () => now });
  const ask = (token: string | undefined, remoteAddress = '203.0.113.7') =>
    app.inject({ method: 'GET', url: '/routes', remoteAddress, headers: token ? { authorization: `Bearer ${token}` } : {} });

  for (let i = 0; i < 10; i++) t.equal((await ask('wrong')).statusCode, 401);
  const blocked = await ask(TOKENS.read);
  t.equal(blocked.statusCode, 429);
  t.equal(blocked.headers['retry-after'], '60');
  t.match(blocked.json().error.message, /refused for 60 s, even with the right token/);
  now += 59_500;
  t.equal((await ask(TOKENS.read)).headers['retry-after'], '1', 'Retry-After counts down, rounded up');
  now += 500;
  t.equal((await ask(TOKENS.read)).statusCode, 200, 'after the block the right token works again');

  for (let i = 0; i < 9; i++) t.equal((await ask('wrong')).statusCode, 401);
  now += 60_000;
  for (let i = 0; i < 9; i++) t.equal((await ask('wrong')).statusCode, 401, 'failures older than the window no longer count');

  t.equal((await ask(TOKENS.read)).statusCode, 200, 'a success between failures');
  t.equal((await ask('wrong')).statusCode, 401, 'is not a reset: this is the tenth failure within the window');
  t.equal((await ask(TOKENS.read)).statusCode, 429);

  for (let i = 0; i < 30; i++) t.equal((await ask(undefined, '198.51.100.1')).statusCode, 401, 'no token at all is not a guess and never blocks');
});

t.test('memory is bounded: the quietest addresses are forgotten first, expired ones as soon as another fails', async (t) => {
  let now = 0;
  const throttle = createAuthThrottle({ maxAddresses: 100, now: () => now });
  for (let i = 0; i < 10; i++) throttle.fail('10.0.0.1');
  t.ok(throttle.retryAfterMs('10.0.0.1') > 0, 'blocked');
  for (let i = 0; i < 5_000; i++) throttle.fail(`10.1.${i >> 8}.${i & 255}`);
  t.equal(throttle.size, 100, 'never more than maxAddresses');
  t.equal(throttle.retryAfterMs('10.1.19.135'), 0, 'one failure blocks nobody');

  now += 60_000;
  throttle.fail('10.2.0.1');
  t.equal(throttle.size, 1, 'entries past their window and block are forgotten');
});
