import path from 'node:path';
import { pathToFileURL } from 'node:url';
import t from 'tap';
import { Unleash, UnleashEvents, type Context } from 'unleash-client';
import { FlagsFileRepository } from '../../proxy/flags/flags-file-repository.ts';
import { rolloutFeature, writeFlagsFile, type Feature } from '../../proxy/flags/flags-file.ts';
import { RouteFlagClient } from '../../proxy/flags/route-flag-client.ts';

/** Both clients read the same flags file; `isOn` must answer exactly as Unleash's own isEnabled. */
async function start<T extends Unleash>(Client: new (config: any) => T, file: string, environment: string): Promise<T> {
  const client = new Client({ appName: 'strangler-proxy', environment, url: pathToFileURL(file).href, repository: new FlagsFileRepository(file), disableMetrics: true, skipInstanceCountWarning: true });
  const ready = new Promise<void>((resolve) => client.once(UnleashEvents.Ready, resolve));
  await client.start();
  await ready;
  return client;
}

t.test('isOn answers as Unleash.isEnabled: rollout by user, constraints on appName, environment and properties', async (t) => {
  const file = path.join(t.testdir(), 'flags.json');
  const constrained = (name: string, constraints: object[]): Feature => {
    const f = rolloutFeature(name, 100);
    (f.strategies![0] as { constraints: object[] }).constraints = constraints;
    return f;
  };
  await writeFlagsFile(file, {
    version: 2,
    features: [
      rolloutFeature('half', 50),
      rolloutFeature('killed', 100, false),
      constrained('our-app-only', [{ contextName: 'appName', operator: 'IN', values: ['strangler-proxy'] }]),
      constrained('other-app-only', [{ contextName: 'appName', operator: 'IN', values: ['someone-else'] }]),
      constrained('prod-only', [{ contextName: 'environment', operator: 'IN', values: ['production'] }]),
      constrained('pro-plan', [{ contextName: 'plan', operator: 'IN', values: ['pro'] }]),
    ],
  });
  for (const environment of ['default', 'production']) {
    const ours = await start(RouteFlagClient, file, environment);
    const theirs = await start(Unleash, file, environment);
    t.teardown(() => {
      ours.destroy();
      theirs.destroy();
    });
    const seen: Record<string, number> = {};
    for (const flag of ['half', 'killed', 'our-app-only', 'other-app-only', 'prod-only', 'pro-plan', 'no-such-flag']) {
      let differ = 0;
      for (let user = 0; user < 500; user++) {
        const context = (): Context => ({ userId: `u${user}`, sessionId: undefined, remoteAddress: '192.0.2.7', properties: { plan: user % 2 ? 'pro' : 'free' } });
        const on = ours.isOn(flag, context());
        if (on !== theirs.isEnabled(flag, context(), false)) differ++;
        if (on) seen[flag] = (seen[flag] ?? 0) + 1;
      }
      t.equal(differ, 0, `${environment}: ${flag} answers the same for 500 users`);
    }
    t.ok(seen.half > 150 && seen.half < 350, `${environment}: the 50 % flag is on for about half of the users (${seen.half})`);
    t.equal(seen['our-app-only'], 500, `${environment}: the appName constraint sees strangler-proxy`);
    t.equal(seen['other-app-only'], undefined);
    t.equal(seen['prod-only'], environment === 'production' ? 500 : undefined, `${environment}: the environment constraint sees the configured environment`);
    t.equal(seen['pro-plan'], 250);
    t.equal(seen['no-such-flag'], undefined, 'an unknown flag is off');
  }
});
