import { access } from 'node:fs/promises';
import { loadConfig } from '../config/load-config.ts';
import { errors } from '../errors.ts';
import { applyShare, describeShare, emptyFlags, readFlagsFile, writeFlagsFile, type ShareChange } from '../flags/flags-file.ts';
import { CONFIG_OPTION, parseCommandArgs, UsageError, type Command } from './command.ts';
import { adminClientFor, defaultReason, isUnreachable } from './admin-target.ts';
import { createUnleashAdmin } from '../flags/unleash-admin.ts';
import { describe as describeChange } from './status.ts';

export const shiftCommand: Command = {
  name: 'shift',
  summary: "shift a route's traffic to its service: 0-100 %, or on/off (kill switch)",
  usage: `Usage: strangler shift <route> <percent|on|off> [--reason "why"] [--config routes.yaml]

Sets the share of requests a route sends to its service. The share is sticky per user
(userId, else session): raising it only moves users from legacy to the service, never back.
  <percent>  0-100: flexibleRollout on the route's flag, flag enabled
  off        kill switch: every request of the route goes to legacy at once; the share is kept
  on         re-enable the flag with its previous share
A running proxy applies the change within a second, without a restart.
With admin: in routes.yaml the change goes through the running proxy's admin API and is
written to the audit log; otherwise (or while the proxy is down, in local mode) the flags file
is rewritten atomically.

Options:
  -c, --config <file>  config file (default: ./routes.yaml)
      --reason <text>  why (kept in the audit log)
      --token <t>      admin operator token (default: admin.operatorToken from the config)
  -h, --help           show this help

Examples:
  strangler shift rooms-get 10
  strangler shift rooms-get off`,
  async run(argv) {
    const { values, positionals } = parseCommandArgs(argv, { ...CONFIG_OPTION, reason: { type: 'string' }, token: { type: 'string' } });
    if (positionals.length !== 2) throw new UsageError('expected a route and a share, e.g. strangler shift rooms-get 25');
    const [routeName, share] = positionals;
    const change = parseShare(share);
    const config = await loadConfig(values.config);
    const route = config.routes.find((r) => r.name === routeName);
    if (!route) throw errors.unknownRoute(routeName, config.routes.map((r) => r.name));
    const client = 'percent' in change ? adminClientFor(config, 'operator', values.token) : undefined;
    if (client && 'percent' in change) {
      try {
        const done = await client.shift(route.name, change.percent, values.reason ?? defaultReason('shift'));
        console.log(`${done.route}: ${describeChange(done.from)} → ${describeChange(done.to)} of requests to "${route.service}" (through the proxy's admin API, in the audit log)`);
        return 0;
      } catch (err) {
        if (!isUnreachable(err)) throw err;
        console.error(`the proxy's admin API is not reachable (${(err as Error).message}); changing the flag directly, without an audit entry`);
      }
    }
    if (config.flags.kind !== 'file') {
      // no running proxy to ask: talk to Unleash's admin API directly (not audited)
      if (!config.flags.adminToken) throw errors.shiftNeedsLocalFlags(config.flags.url);
      const unleash = createUnleashAdmin({ url: config.flags.url, token: config.flags.adminToken, project: config.flags.project, environment: config.flags.environment });
      const before = await unleash.describe(route.flag).catch(() => undefined);
      if ('percent' in change) await unleash.setRollout(route.flag, change.percent);
      else await unleash.setEnabled(route.flag, change.enabled);
      const after = await unleash.describe(route.flag);
      console.log(`${route.name}: ${describe(before)} → ${describe(after)} of requests to "${route.service}" (flag ${route.flag} on the Unleash server ${config.flags.url})`);
      return 0;
    }
    const file = config.flags.file;
    const exists = await access(file).then(() => true, () => false);
    const before = exists ? await readFlagsFile(file) : emptyFlags();
    const after = applyShare(before, route.flag, change);
    await writeFlagsFile(file, after);
    console.log(`${route.name}: ${describe(describeShare(before, route.flag))} → ${describe(describeShare(after, route.flag))} of requests to "${route.service}" (flag ${route.flag}, ${file})`);
    return 0;
  },
};

export function parseShare(value: string): ShareChange {
  if (value === 'on') return { enabled: true };
  if (value === 'off') return { enabled: false };
  const n = Number(value.replace(/%$/, ''));
  if (!/^\d{1,3}%?$/.test(value) || !Number.isInteger(n) || n < 0 || n > 100) throw errors.badPercent(value);
  return { percent: n };
}

function describe(share: ReturnType<typeof describeShare>): string {
  if (!share) return '0 % (no flag yet)';
  const pct = share.percent === undefined ? 'custom strategies' : `${share.percent} %`;
  return share.enabled ? pct : `off (${pct} when on)`;
}
