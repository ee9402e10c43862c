import type { IncomingMessage } from 'node:http';
import t from 'tap';
import { buildContext, readCookie } from '../../proxy/flags/build-context.ts';

const req = (headers: Record<string, string>) => ({ headers, socket: { remoteAddress: '192.0.2.7' } }) as unknown as IncomingMessage;

t.test('the Unleash context comes from the configured headers and cookies', async (t) => {
  const config = { userId: { cookie: 'uid' }, sessionId: { cookie: 'PHPSESSID' }, properties: { plan: { header: 'x-plan' }, region: { cookie: 'region' } } };
  t.same(buildContext(req({ cookie: 'uid=42; PHPSESSID=abc; region=eu', 'x-plan': 'pro' }), config), {
    userId: '42',
    sessionId: 'abc',
    remoteAddress: '192.0.2.7',
    properties: { plan: 'pro', region: 'eu' },
  });
  t.same(buildContext(req({}), config), { userId: undefined, sessionId: undefined, remoteAddress: '192.0.2.7' }, 'absent values stay absent');
});

t.test('readCookie finds the named cookie only', async (t) => {
  t.equal(readCookie('xPHPSESSID=no; PHPSESSID=yes', 'PHPSESSID'), 'yes', 'a cookie whose name ends with the name is not it');
  t.equal(readCookie('PHPSESSID=first;PHPSESSID=second', 'PHPSESSID'), 'first');
  t.equal(readCookie('a=1; PHPSESSID=', 'PHPSESSID'), undefined, 'empty value is no value');
  t.equal(readCookie('a=1; PHPSESSIDX=2', 'PHPSESSID'), undefined);
  t.equal(readCookie(undefined, 'PHPSESSID'), undefined);
});
