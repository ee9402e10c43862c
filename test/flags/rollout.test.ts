import type { IncomingMessage } from 'node:http';
import path from 'node:path';
import pino from 'pino';
import t from 'tap';
import { normalizedStrategyValue } from 'unleash-client/lib/strategy/util.js';
import { DEFAULTS } from '../../proxy/config/schema.ts';
import { buildContext } from '../../proxy/flags/build-context.ts';
import { createFlagSource } from '../../proxy/flags/flag-source.ts';
import { applyShare, emptyFlags, readFlagsFile, rolloutFeature, writeFlagsFile } from '../../proxy/flags/flags-file.ts';
import { eventually, request } from '../helpers/http.ts';
import { ROOMS_ROUTES, startProxyFixture } from '../helpers/proxy.ts';

const FLAG = 'rooms-get';
const contextConfig = { userId: DEFAULTS.userId, sessionId: DEFAULTS.sessionId, properties: {} };
const fakeRequest = (headers: Record<string, string>) => ({ headers, socket: { remoteAddress: '10.0.0.1' } }) as unknown as IncomingMessage;

/** First user id whose bucket for this flag is exactly `bucket` (1..100). */
function userInBucket(bucket: number): string {
  for (let i = 0; ; i++) if (normalizedStrategyValue(`user-${i}`, FLAG) === bucket) return `user-${i}`;
}

t.test('deterministic boundary: at 30 % bucket 30 is on the service, bucket 31 is not', async (t) => {
  const { proxy } = await startProxyFixture(t, { routes: ROOMS_ROUTES, features: [rolloutFeature(FLAG, 30)] });
  const at30 = userInBucket(30);
  const at31 = userInBucket(31);
  const sideOf = async (headers: Record<string, string>) => (await request(`${proxy.url}/api/rooms/1`, { headers })).headers['x-strangler-target'];
  t.equal(await sideOf({ 'x-user-id': at30 }), 'rooms', `${at30} (bucket 30) → service`);
  t.equal(await sideOf({ 'x-user-id': at31 }), 'legacy', `${at31} (bucket 31) → legacy`);

  // without a user id, the PHP session decides, just as sticky
  const sessionAt30 = at30;
  t.equal(await sideOf({ cookie: `lang=zh; PHPSESSID=${sessionAt30}` }), 'rooms', 'session in bucket 30 → service');
  t.equal(await sideOf({ cookie: `PHPSESSID=${at31}` }), 'legacy', 'session in bucket 31 → legacy');
});

t.test('10 000 users at 30 % land within 30 ± 2 %, each always on the same side; raising to 60 % moves nobody back', async (t) => {
  const file = path.join(t.testdir(), 'flags.json');
  await writeFlagsFile(file, applyShare(emptyFlags(), FLAG, { percent: 30 }));
  const logger = pino({ level: 'silent' });
  const flags = await createFlagSource({ kind: 'file', file }, { logger, flagNames: [FLAG] });
  t.teardown(() => flags.close());
  const users = Array.from({ length: 10_000 }, (_, i) => `learner-${i}`);
  const side = (user: string) => flags.isEnabled(FLAG, buildContext(fakeRequest({ 'x-user-id': user }), contextConfig));

  const at30 = users.map(side);
  const share30 = at30.filter(Boolean).length / users.length;
  t.ok(share30 >= 0.28 && share30 <= 0.32, `share at 30 % is ${(share30 * 100).toFixed(2)} % (tolerance ±2)`);
  t.same(users.map(side), at30, 'a second pass gives every user the same side');

  await writeFlagsFile(file, applyShare(await readFlagsFile(file), FLAG, { percent: 60 }));
  await eventually(() => users.slice(0, 200).map(side).filter(Boolean).length > at30.slice(0, 200).filter(Boolean).length);
  const at60 = users.map(side);
  const share60 = at60.filter(Boolean).length / users.length;
  t.ok(share60 >= 0.58 && share60 <= 0.62, `share at 60 % is ${(share60 * 100).toFixed(2)} % (tolerance ±2)`);
  const movedBack = users.filter((_, i) => at30[i] && !at60[i]);
  t.same(movedBack, [], 'no user moved from the service back to legacy');
});

t.test('0 % sends nobody and 100 % everybody to the service', async (t) => {
  const file = path.join(t.testdir(), 'flags.json');
  await writeFlagsFile(file, applyShare(emptyFlags(), FLAG, { percent: 0 }));
  const flags = await createFlagSource({ kind: 'file', file }, { logger: pino({ level: 'silent' }), flagNames: [FLAG] });
  t.teardown(() => flags.close());
  const users = Array.from({ length: 1000 }, (_, i) => `u${i}`);
  const count = () => users.filter((u) => flags.isEnabled(FLAG, buildContext(fakeRequest({ 'x-user-id': u }), contextConfig))).length;
  t.equal(count(), 0);
  await writeFlagsFile(file, applyShare(await readFlagsFile(file), FLAG, { percent: 100 }));
  await eventually(() => count() === 1000);
  t.equal(count(), 1000);
  await writeFlagsFile(file, applyShare(await readFlagsFile(file), FLAG, { enabled: false }));
  await eventually(() => count() === 0);
  t.equal(count(), 0, 'kill switch: nobody');
});
