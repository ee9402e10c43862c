import { access } from 'node:fs/promises';
import { loadConfig } from '../config/load-config.ts';
import { errors } from '../errors.ts';
import { applyShare, describeShare, emptyFlags, readFlagsFile, writeFlagsFile, type ShareChange } from '../flags/flags-file.ts';
import { CONFIG_OPTION, parseCommandArgs, UsageError, type Command } from './command.ts';

export const shiftCommand: Command = {
  name: 'shift',
  summary: "shift a route's traffic to its service: 0-100 %, or on/off (kill switch)",
  usage: `Usage: strangler shift <route> <percent|on|off> [--config routes.yaml]

Sets the share of requests a route sends to its service. The share is sticky per user
(userId, else session): raising it only moves users from legacy to the service, never back.
  <percent>  0-100: flexibleRollout on the route's flag, flag enabled
  off        kill switch: every request of the route goes to legacy at once; the share is kept
  on         re-enable the flag with its previous share
A running proxy applies the change within a second, without a restart.
In local mode this rewrites the flags file atomically.

Options:
  -c, --config <file>  config file (default: ./routes.yaml)
  -h, --help           show this help

Examples:
  strangler shift rooms-get 10
  strangler shift rooms-get off`,
  async run(argv) {
    const { values, positionals } = parseCommandArgs(argv, CONFIG_OPTION);
    if (positionals.length !== 2) throw new UsageError('expected a route and a share, e.g. strangler shift rooms-get 25');
    const [routeName, share] = positionals;
    const change = parseShare(share);
    const config = await loadConfig(values.config);
    const route = config.routes.find((r) => r.name === routeName);
    if (!route) throw errors.unknownRoute(routeName, config.routes.map((r) => r.name));
    if (config.flags.kind !== 'file') throw errors.shiftNeedsLocalFlags(config.flags.url);
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
