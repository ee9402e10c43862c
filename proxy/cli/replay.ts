import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { loadConfig } from '../config/load-config.ts';
import { errors } from '../errors.ts';
import type { ComparisonStore } from '../parity/comparison-store.ts';
import { openStore } from '../parity/open-configured-store.ts';
import { createRedactor } from '../parity/redact.ts';
import type { ParityReport } from '../parity/records.ts';
import { countTraffic, readTraffic, type UnansweredEntry } from '../replay/read-traffic.ts';
import { replayTraffic } from '../replay/replay-traffic.ts';
import { renderHtmlReport } from '../report/html-report.ts';
import { renderJunitReport } from '../report/junit-report.ts';
import { parseDuration } from '../util/parse-duration.ts';
import { CONFIG_OPTION, parseCommandArgs, UsageError, type Command } from './command.ts';
import { formatParityReport } from './parity.ts';
import { createProgress } from './progress.ts';

export const replayCommand: Command = {
  name: 'replay',
  summary: 'send recorded traffic (JSONL or HAR) to legacy and the service, compare, gate on parity',
  usage: `Usage: strangler replay <file> [--route r] [--rate N] [--concurrency C] [--min-parity 99.5]

Sends every recorded request of <file> to legacy and to its route's service, compares the two
answers with the route's compare: rules and learned noise (the same engine as the live shadow
run), shows progress, prints parity per route and writes a report. Exits 1 when a route's
parity is below --min-parity, so it can gate a CI pipeline.

<file> is a recording the proxy wrote (routes.yaml recording: + record: on a route, JSONL) or a
HAR file saved from the browser devtools or written by Playwright (recordHar). A HAR's entries
that got no answer when recorded (status 0 or -1: blocked, aborted, failed in the browser) are
skipped and counted. Requests are matched to routes by method and path.
Writes (POST, PUT, PATCH, DELETE) are replayed only to a route's sandbox (shadow.writes).

Options:
  -c, --config <file>      config file (default: ./routes.yaml): upstreams, routes, rules
      --route <name>       replay only this route's requests
      --rate <n>           start at most n requests per second (default: no limit)
      --concurrency <n>    requests in flight at once (default 8)
      --min-parity <pct>   exit 1 when a route's parity is below this (default 99.5; 0 = never)
      --timeout <dur>      per request and side (default 10s)
      --noise-warmup <n>   per route, ask legacy twice for the first n requests (default 20)
      --noise-delay <dur>  wait between the two legacy calls (default 1s; 0 is allowed)
      --report <file>      where the JSON report goes (default var/replay-report.json)
      --html <file>        also write the HTML diff report here
      --junit <file>       also write JUnit XML here
      --no-store           do not add the comparisons to the comparison store
      --json               print the report as JSON (with the counts of unmatched and
                           unanswered requests) instead of the table
  -h, --help               show this help`,
  async run(argv) {
    const { values, positionals } = parseCommandArgs(argv, {
      ...CONFIG_OPTION,
      route: { type: 'string' },
      rate: { type: 'string' },
      concurrency: { type: 'string', default: '8' },
      'min-parity': { type: 'string', default: '99.5' },
      timeout: { type: 'string', default: '10s' },
      'noise-warmup': { type: 'string', default: '20' },
      'noise-delay': { type: 'string', default: '1s' },
      report: { type: 'string', default: 'var/replay-report.json' },
      html: { type: 'string' },
      junit: { type: 'string' },
      'no-store': { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
    });
    if (positionals.length !== 1) throw new UsageError('give exactly one traffic file (JSONL recording or .har)');
    const file = positionals[0];
    const concurrency = positiveInt(values.concurrency, '--concurrency');
    const rate = values.rate === undefined ? undefined : positiveNumber(values.rate, '--rate');
    const minParity = Number(values['min-parity']);
    if (!Number.isFinite(minParity) || minParity < 0 || minParity > 100) throw new UsageError('--min-parity must be a percentage from 0 to 100, e.g. 99.5');
    const timeoutMs = parseDuration(values.timeout);
    if (timeoutMs === undefined) throw new UsageError(`--timeout "${values.timeout}" is not a duration; write e.g. 10s`);
    const noiseDelayMs = values['noise-delay'].trim() === '0' ? 0 : parseDuration(values['noise-delay']);
    if (noiseDelayMs === undefined) throw new UsageError(`--noise-delay "${values['noise-delay']}" is not a duration; write e.g. 1s or 0`);
    const noiseWarmup = Number(values['noise-warmup']);
    if (!Number.isInteger(noiseWarmup) || noiseWarmup < 0) throw new UsageError('--noise-warmup must be a whole number >= 0');

    const config = await loadConfig(values.config);
    const known = config.routes.map((r) => r.name);
    if (values.route && !known.includes(values.route)) throw errors.unknownRoute(values.route, known);
    const total = await countTraffic(file);
    let store: ComparisonStore | null = null;
    if (!values['no-store']) store = await openStore(config);
    const progress = createProgress({ total, label: `replay ${path.basename(file)}` });
    let report: ParityReport;
    let unmatched: number;
    let replayed: number;
    const unanswered: UnansweredEntry[] = [];
    try {
      ({ report, unmatched, total: replayed } = await replayTraffic({
        config,
        traffic: readTraffic(file, { onUnanswered: (entry) => unanswered.push(entry) }),
        redactor: createRedactor(config.comparisons.redact),
        route: values.route,
        rate,
        concurrency,
        noiseWarmup,
        noiseDelayMs,
        timeoutMs,
        store,
        onResult: (outcome) => progress.tick(outcome),
      }));
    } finally {
      progress.done();
      await store?.close();
    }

    const traffic = summarizeTraffic(replayed, unmatched, unanswered);
    const json = JSON.stringify({ ...report, traffic }, null, 2);
    // with --json, stdout is the report alone; where the files went goes to stderr
    const say = values.json ? console.error : console.log;
    if (values.json) console.log(json);
    else {
      console.log(formatParityReport(report, 'replay'));
      if (unmatched > 0) console.log(`\n${unmatched} recorded request(s) matched no route${values.route ? ` "${values.route}"` : ''} and were not replayed`);
      if (unanswered.length > 0) console.log(`\n${formatUnanswered(traffic.unanswered)}`);
    }
    await writeOut(values.report, json);
    say(`\nreport: ${values.report}`);
    if (values.html) await writeOut(values.html, renderHtmlReport(report)), say(`html:   ${values.html}`);
    if (values.junit) await writeOut(values.junit, renderJunitReport(report, { minParity })), say(`junit:  ${values.junit}`);

    const failing = report.routes.filter((r) => r.parity !== null && r.parity < minParity);
    if (failing.length > 0) {
      console.error(`\nparity below ${minParity} %: ${failing.map((r) => `${r.route} ${(Math.floor(r.parity! * 100) / 100).toFixed(2)} %`).join(', ')}`);
      return 1;
    }
    if (report.routes.every((r) => r.compared === 0)) {
      console.error('\nnothing was compared: check that the file holds requests of compared routes (see --route and routes.yaml)');
      return 1;
    }
    return 0;
  },
};

/** What the file held besides the compared requests; written with the report (its `traffic`). */
interface TrafficSummary {
  /** requests read from the file and sent to the replay (answered HAR entries, recording lines) */
  requests: number;
  /** of those, matched no compared route (or not --route) */
  unmatched: number;
  /** HAR entries skipped: no answer when recorded */
  unanswered: { count: number; byError: Record<string, number> };
}

const NO_REASON = '(no reason given)';

function summarizeTraffic(requests: number, unmatched: number, unanswered: readonly UnansweredEntry[]): TrafficSummary {
  const byError: Record<string, number> = {};
  for (const entry of unanswered) {
    const key = entry.error ?? NO_REASON;
    byError[key] = (byError[key] ?? 0) + 1;
  }
  return { requests, unmatched, unanswered: { count: unanswered.length, byError } };
}

function formatUnanswered({ count, byError }: TrafficSummary['unanswered']): string {
  const reasons = Object.entries(byError)
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .map(([error, n]) => `${error} ×${n}`)
    .join(', ');
  return `${count} HAR entr${count === 1 ? 'y' : 'ies'} got no answer when recorded (status 0 or -1: ${reasons}) and ${count === 1 ? 'was' : 'were'} not replayed`;
}

async function writeOut(file: string, text: string): Promise<void> {
  await mkdir(path.dirname(path.resolve(file)), { recursive: true });
  await writeFile(file, text);
}

function positiveInt(raw: string, name: string): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`${name} must be a whole number >= 1`);
  return n;
}

function positiveNumber(raw: string, name: string): number {
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) throw new UsageError(`${name} must be a number > 0`);
  return n;
}

