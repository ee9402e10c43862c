import { loadConfig } from '../config/load-config.ts';
import { errors } from '../errors.ts';
import { buildStoredParityReport } from '../parity/build-parity-report.ts';
import { openStore } from '../parity/open-configured-store.ts';
import type { ComparisonSource, ParityReport, RouteParity } from '../parity/records.ts';
import { parseDuration } from '../util/parse-duration.ts';
import { CONFIG_OPTION, parseCommandArgs, UsageError, type Command } from './command.ts';

export const parityCommand: Command = {
  name: 'parity',
  summary: 'per route: how often the service answered like legacy, what differs, learned noise',
  usage: `Usage: strangler parity [route] [--since 24h] [--source shadow|replay|all] [--json]

Reads the comparisons the proxy stored (shadow and canary routes) and those "strangler replay"
stored, and prints per route: requests compared, match rate (parity), the paths that differ
most with an example, candidate errors, and the noise learned from legacy answering the same
request twice (shown so you can promote it to a compare: rule in routes.yaml).

parity = matches / (matches + mismatches + candidate errors), over the window. Skipped copies
(over the concurrency bound, writes without a sandbox, bodies over the cap) are counted apart.

Options:
  -c, --config <file>   config file (default: ./routes.yaml); its comparisons.database is read
      --since <dur>     window: comparisons newer than this (default 24h; e.g. 15m, 2h, 7d)
      --source <s>      shadow, replay or all (default all)
      --json            print the report as JSON
  -h, --help            show this help`,
  async run(argv) {
    const { values, positionals } = parseCommandArgs(argv, {
      ...CONFIG_OPTION,
      since: { type: 'string', default: '24h' },
      source: { type: 'string', default: 'all' },
      json: { type: 'boolean', default: false },
    });
    const sinceMs = parseDuration(values.since);
    if (sinceMs === undefined) throw new UsageError(`--since "${values.since}" is not a duration; write e.g. 15m, 2h or 7d`);
    if (!['shadow', 'replay', 'all'].includes(values.source)) throw new UsageError(`--source must be shadow, replay or all, not "${values.source}"`);
    if (positionals.length > 1) throw new UsageError('give at most one route');
    const config = await loadConfig(values.config);
    const route = positionals[0];
    const known = config.routes.map((r) => r.name);
    if (route && !known.includes(route)) throw errors.unknownRoute(route, known);
    const store = await openStore(config);
    try {
      const report = await buildStoredParityReport(store, {
        route,
        source: values.source === 'all' ? undefined : (values.source as ComparisonSource),
        since: Date.now() - sinceMs,
        routes: known.filter((name) => {
          const r = config.routes.find((x) => x.name === name)!;
          return r.stage === 'shadow' || (r.stage === 'canary' && r.shadow.reverse);
        }),
      });
      console.log(values.json ? JSON.stringify(report, null, 2) : formatParityReport(report, values.since));
    } finally {
      await store.close();
    }
    return 0;
  },
};

export function formatParityReport(report: ParityReport, window: string): string {
  if (report.routes.length === 0) return `no comparisons in the last ${window}: put a route in stage shadow (routes.yaml) and send it traffic, or run strangler replay`;
  const head = ['route', 'compared', 'match', 'mismatch', 'errors', 'skipped', 'parity'];
  const rows = report.routes.map((r) => [r.route, r.compared, r.matches, r.mismatches, r.candidateErrors, r.skipped, formatParity(r)].map(String));
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  const out = [`parity over the last ${window} (source: ${report.source})`, '', line(head), ...rows.map(line)];
  for (const r of report.routes) {
    const details = describeRoute(r);
    if (details.length) out.push('', `${r.route}:`, ...details);
  }
  return out.join('\n');
}

function formatParity(r: RouteParity): string {
  // rounded down: 99.996 must not read as a passing 100.00
  return r.parity === null ? '—' : `${(Math.floor(r.parity * 100) / 100).toFixed(2)} %`;
}

function describeRoute(r: RouteParity): string[] {
  const out: string[] = [];
  for (const d of r.topDifferences) {
    out.push(`  differs  ${d.pattern}  ×${d.count}  e.g. ${d.example.request}: legacy ${show(d.example.legacy)}, service ${show(d.example.service)}`);
  }
  for (const e of r.topErrors) out.push(`  error    ${e.reason}  ×${e.count}`);
  for (const n of r.noise) out.push(`  noise    ${n.pattern} (${n.kind}, ${n.count}×)  promote with: ${n.suggestion}`);
  return out;
}

function show(v: unknown): string {
  if (v === undefined) return '(absent)';
  const text = JSON.stringify(v);
  return text.length > 60 ? `${text.slice(0, 59)}…` : text;
}
