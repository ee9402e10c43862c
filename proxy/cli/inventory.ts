import { access } from 'node:fs/promises';
import path from 'node:path';
import { loadConfig } from '../config/load-config.ts';
import type { RouteConfig } from '../config/schema.ts';
import { createInventoryBuilder, type EndpointStats, type Inventory } from '../inventory/build-inventory.ts';
import { LOG_FORMATS, MAX_EXAMPLES, openAccessLog, type AccessLogFile, type LogFormat, type MalformedLine } from '../inventory/read-access-log.ts';
import { parseCommandArgs, UsageError, type Command } from './command.ts';
import { createProgress } from './progress.ts';

const DEFAULT_CONFIG = 'routes.yaml';
/** files from this size on show progress on stderr */
const PROGRESS_FROM_BYTES = 8 * 1024 * 1024;
const KIB = 1024;

export const inventoryCommand: Command = {
  name: 'inventory',
  summary: 'what is left to strangle: endpoints seen in access logs, their traffic and covering route',
  usage: `Usage: strangler inventory <log file>… [--config routes.yaml] [--format auto|proxy|combined]
                           [--top 50] [--idle-days 14] [--no-assets] [--json]

Reads the monolith's traffic from access logs and prints every endpoint seen (method and path,
ids collapsed to :id: numbers, UUIDs, long hex, segments with digits such as u123 or
2024-01-05; versions such as v2, wp/v2 or oembed/1.0 and words such as a11y, i18n or utf8 are
kept), with its requests, 5xx share, p50 and p99 latency (when the log has latencies) and the
routes.yaml route that covers it, with its stage.

Static files (.css, .js, images, fonts, media) are one row per top folder and extension, e.g.
GET /wp-content/**/*.css; --no-assets leaves them out (and out of the totals).
Query-routed pages are listed by their routing parameter: when a path's requests carry a query
parameter whose values are paths (WordPress /?rest_route=/wp/v2/categories) or a few words that
repeat (index.php?page=settings, admin-ajax.php?action=heartbeat; at least 10 requests, at most
12 values), each value is a row of its own, e.g. GET /?rest_route=/wp/v2/posts/:id, and the
path's requests without it one more. Parameters that say where to go next (redirect_to, return,
next, url, ref, callback), tracking (utm_*, fbclid, gclid), sorting (sort, order, orderby),
language (lang, _locale), nonces and cache busters (ver, _) never route.

Logs (several may be given, .gz files too; each line counts once, so do not pass the same
traffic twice, e.g. nginx's log of requests that also went through the proxy):
  proxy      the proxy's access log: its stdout, JSON lines with msg "request completed";
             its other log lines are passed over
  combined   nginx/Apache "combined" (or "common") format, optionally with one more field
             at the end: nginx $request_time (seconds, e.g. 0.012) or Apache %D (microseconds)
The format is detected per file from its first line; lines that cannot be read are counted
and the first ${MAX_EXAMPLES} shown on stderr. A file with lines but none readable is an error.

Strangled share = strangled requests / all requests. A request is strangled when
  proxy log:     a service answered it (target is not legacy);
  nginx/Apache:  a route in stage cutover covers it (such a log sits in front of the monolith
                 and never says who answered: this is what routes.yaml sends to services now).

Idle legacy routes: routes in stage cutover none of whose requests reached legacy for
--idle-days, judged by the logs' own timestamps (up to the last line, not today): in a proxy
log a request with target legacy (breaker fallback, forced, older stage), in an nginx/Apache log
any request of the route. Their PHP code is a candidate for deletion; while it exists, legacy
still answers these routes when the service's breaker opens or a safe request falls back.

Options:
  -c, --config <file>     routes.yaml whose routes cover endpoints (default: ./routes.yaml;
                          when that default is missing, coverage is left out)
      --format <f>        auto, proxy or combined (default auto)
      --top <n>           endpoints in the table, most requests first (default 50; 0: all)
      --idle-days <d>     days without legacy traffic that make a cutover route idle (default 14)
      --no-assets         leave static files out (default: one row per top folder and extension)
      --json              print the whole inventory as JSON (every endpoint, --top ignored)
  -h, --help              show this help

Output: a table (endpoint, requests, 5xx %, p50, p99, covered by route@stage or —), then
"N requests, M endpoints; X % strangled (served by services)", then the idle legacy routes.`,

  async run(argv) {
    const { values, positionals } = parseCommandArgs(argv, {
      config: { type: 'string', short: 'c' },
      format: { type: 'string', default: 'auto' },
      top: { type: 'string', default: '50' },
      'idle-days': { type: 'string', default: '14' },
      json: { type: 'boolean', default: false },
      'no-assets': { type: 'boolean', default: false },
    });
    if (positionals.length === 0) throw new UsageError('give at least one access log file');
    const format = values.format;
    if (format !== 'auto' && !(LOG_FORMATS as readonly string[]).includes(format)) throw new UsageError(`--format must be auto, proxy or combined, not "${format}"`);
    const top = Number(values.top);
    if (!Number.isInteger(top) || top < 0) throw new UsageError(`--top must be a whole number (0: all), not "${values.top}"`);
    const idleDays = Number(values['idle-days']);
    if (!Number.isFinite(idleDays) || idleDays <= 0) throw new UsageError(`--idle-days must be a number of days above 0, not "${values['idle-days']}"`);

    const routes = await readRoutes(values.config);
    // every file is opened before any is read: a typo in the last name fails at once
    const logs: AccessLogFile[] = [];
    for (const file of positionals) logs.push(await openAccessLog(file, format as LogFormat | 'auto'));

    const builder = createInventoryBuilder({ routes: routes ?? [], idleDays, assets: values['no-assets'] ? 'omit' : 'group' });
    for (const log of logs) {
      const progress = log.size >= PROGRESS_FROM_BYTES ? createProgress({ total: Math.ceil(log.size / KIB), label: `reading ${path.basename(log.file)} (KiB)` }) : undefined;
      let pending = 0;
      const onBytes = progress
        ? (bytes: number) => {
            pending += bytes;
            for (; pending >= KIB; pending -= KIB) progress.tick();
          }
        : undefined;
      try {
        for await (const record of log.records(onBytes)) builder.add(record);
        if (pending > 0) progress?.tick();
      } finally {
        progress?.done();
      }
    }

    const examples: MalformedLine[] = logs.flatMap((l) => l.stats.examples).slice(0, MAX_EXAMPLES);
    const inventory = builder.build({ count: logs.reduce((n, l) => n + l.stats.malformed, 0), examples });
    if (routes === undefined) console.error(`strangler inventory: no ${DEFAULT_CONFIG} here, so coverage by routes is left out; pass --config <file>`);
    if (inventory.malformed.count > 0) console.error(formatMalformed(inventory.malformed));
    console.log(values.json ? JSON.stringify(inventory, null, 2) : formatInventory(inventory, logs, top));
    return 0;
  },
};

/** undefined: no --config and no routes.yaml in the current folder (an inventory before any route exists). */
async function readRoutes(file: string | undefined): Promise<readonly RouteConfig[] | undefined> {
  if (file === undefined) {
    try {
      await access(DEFAULT_CONFIG);
    } catch {
      return undefined;
    }
  }
  return (await loadConfig(file ?? DEFAULT_CONFIG)).routes;
}

function formatMalformed(malformed: Inventory['malformed']): string {
  const n = malformed.count;
  const lines = [`strangler inventory: ${n} line${n === 1 ? '' : 's'} skipped, not readable as requests${n > malformed.examples.length ? `; the first ${malformed.examples.length}:` : ':'}`];
  for (const m of malformed.examples) lines.push(`  ${m.file}:${m.line}: ${m.reason}`);
  return lines.join('\n');
}

export function formatInventory(inventory: Inventory, logs: readonly AccessLogFile[], top: number): string {
  const out: string[] = [];
  const sources = logs.map((l) => `${l.file} (${l.stats.format ? `${l.stats.format} log, ` : ''}${l.stats.records} requests)`).join(', ');
  out.push(inventory.span ? `traffic from ${inventory.span.from} to ${inventory.span.to} in ${sources}` : `no requests in ${sources}`);
  if (inventory.endpoints.length > 0) {
    const shown = top === 0 ? inventory.endpoints : inventory.endpoints.slice(0, top);
    const head = ['endpoint', 'requests', '5xx %', 'p50', 'p99', 'covered by'];
    const rows = shown.map((e) => [`${e.method} ${e.pattern}`, String(e.requests), formatPercent(e.errorRate), formatMs(e.p50Ms), formatMs(e.p99Ms), formatCoverage(e)]);
    const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
    const line = (cells: string[]) =>
      cells
        .map((c, i) => (i === 0 || i === cells.length - 1 ? c.padEnd(widths[i]) : c.padStart(widths[i])))
        .join('  ')
        .trimEnd();
    out.push('', line(head), ...rows.map(line));
    if (shown.length < inventory.endpoints.length) out.push(`… ${inventory.endpoints.length - shown.length} more endpoints (--top 0 shows all)`);
  }
  out.push('', `${inventory.total} requests, ${inventory.endpoints.length} endpoints; ${formatPercent(inventory.strangledShare)} strangled (served by services)`);
  if (inventory.assetsOmitted > 0) out.push(`  (${inventory.assetsOmitted} static-file requests left out: --no-assets)`);
  if (logs.some((l) => l.stats.format === 'combined' && l.stats.records > 0)) {
    out.push('  (nginx/Apache lines count as strangled when a route in stage cutover covers them)');
  }
  out.push('');
  const idle = inventory.idleLegacyRoutes;
  if (idle.length === 0) {
    out.push(`idle legacy routes (stage cutover, no request reached legacy for ${inventory.idleDays} days): none`);
  } else {
    out.push(`idle legacy routes (stage cutover, no request reached legacy for ${inventory.idleDays} days; candidates for deleting PHP code):`);
    const width = Math.max(...idle.map((r) => r.route.length));
    for (const r of idle) {
      const what = r.lastLegacyAt
        ? `last reached legacy ${r.lastLegacyAt}, ${r.requests} requests in all`
        : r.requests === 0
          ? 'no request in these logs'
          : `${r.requests} requests, none reached legacy`;
      out.push(`  ${r.route.padEnd(width)}  ${what}`);
    }
  }
  const span = inventory.span ? Date.parse(inventory.span.to) - Date.parse(inventory.span.from) : 0;
  if (span < inventory.idleDays * 86_400_000) {
    out.push(`  (the logs span ${formatSpan(span)}: a route with no legacy request in them cannot be called idle for ${inventory.idleDays} days)`);
  }
  return out.join('\n');
}

function formatCoverage(e: EndpointStats): string {
  if (!e.route) return '—';
  const partial = e.coveredRequests < e.requests ? ` (${formatPercent(e.coveredRequests / e.requests)} of requests)` : '';
  return `${e.route.name}@${e.route.stage}${partial}`;
}

/** rounded down, one decimal: 99.96 % must not read as 100.0 % */
function formatPercent(share: number): string {
  // the epsilon keeps 0.57 (569.999… per mille in floating point) at 57.0
  return `${(Math.floor(share * 1000 + 1e-9) / 10).toFixed(1)} %`;
}

function formatMs(ms: number | null): string {
  if (ms === null) return '—';
  return ms < 10 ? `${ms.toFixed(1)} ms` : `${Math.round(ms)} ms`;
}

function formatSpan(ms: number): string {
  if (ms >= 86_400_000) return `${(ms / 86_400_000).toFixed(1)} days`;
  if (ms >= 3_600_000) return `${(ms / 3_600_000).toFixed(1)} hours`;
  return `${Math.round(ms / 60_000)} minutes`;
}
