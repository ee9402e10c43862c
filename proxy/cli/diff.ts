import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { loadConfig } from '../config/load-config.ts';
import { errors } from '../errors.ts';
import { buildStoredParityReport } from '../parity/build-parity-report.ts';
import { openStore } from '../parity/open-configured-store.ts';
import type { ComparisonSource, ParityReport } from '../parity/records.ts';
import { renderHtmlReport } from '../report/html-report.ts';
import { renderJunitReport } from '../report/junit-report.ts';
import { validateParityReport } from '../report/validate-parity-report.ts';
import { parseDuration } from '../util/parse-duration.ts';
import { CONFIG_OPTION, parseCommandArgs, UsageError, type Command } from './command.ts';

export const diffCommand: Command = {
  name: 'diff',
  summary: 'diff report: self-contained HTML (side-by-side mismatches) and JUnit XML for CI',
  usage: `Usage: strangler diff report [route] [--since 24h] [--source shadow|replay|all] [--html f] [--junit f]

Writes the parity of each route, with side-by-side legacy/service answers of its newest
mismatches (differing paths highlighted), as one self-contained HTML file that opens in any
browser, and as JUnit XML (one test case per route, failing below --min-parity) for CI
systems. Reads the comparison store (live shadow runs and stored replays), or a report JSON
written by strangler replay (--from).

Options:
  -c, --config <file>   config file (default: ./routes.yaml); its comparisons.database is read
      --since <dur>     window (default 24h)
      --source <s>      shadow, replay or all (default all)
      --from <file>     build from a strangler replay report JSON instead of the store
      --html <file>     HTML output (default var/diff-report.html)
      --junit <file>    JUnit XML output (default var/diff-report.xml)
      --min-parity <p>  JUnit failure threshold, percent (default 99.5)
  -h, --help            show this help`,
  async run(argv) {
    const { values, positionals } = parseCommandArgs(argv, {
      ...CONFIG_OPTION,
      since: { type: 'string', default: '24h' },
      source: { type: 'string', default: 'all' },
      from: { type: 'string' },
      html: { type: 'string', default: 'var/diff-report.html' },
      junit: { type: 'string', default: 'var/diff-report.xml' },
      'min-parity': { type: 'string', default: '99.5' },
    });
    const [sub, route, ...rest] = positionals;
    if (sub !== 'report' || rest.length > 0) throw new UsageError('the only subcommand is "report": strangler diff report [route]');
    const minParity = Number(values['min-parity']);
    if (!Number.isFinite(minParity) || minParity < 0 || minParity > 100) throw new UsageError('--min-parity must be a percentage from 0 to 100');

    let report: ParityReport;
    if (values.from) {
      report = await readReportFile(values.from);
      if (route) report = { ...report, routes: report.routes.filter((r) => r.route === route), examples: report.examples.filter((e) => e.route === route) };
    } else {
      const sinceMs = parseDuration(values.since);
      if (sinceMs === undefined) throw new UsageError(`--since "${values.since}" is not a duration; write e.g. 15m, 2h or 7d`);
      if (!['shadow', 'replay', 'all'].includes(values.source)) throw new UsageError('--source must be shadow, replay or all');
      const config = await loadConfig(values.config);
      const known = config.routes.map((r) => r.name);
      if (route && !known.includes(route)) throw errors.unknownRoute(route, known);
      const store = await openStore(config);
      try {
        report = await buildStoredParityReport(store, {
          route,
          source: values.source === 'all' ? undefined : (values.source as ComparisonSource),
          since: Date.now() - sinceMs,
        });
      } finally {
        await store.close();
      }
    }
    for (const [file, text] of [
      [values.html, renderHtmlReport(report)],
      [values.junit, renderJunitReport(report, { minParity })],
    ] as const) {
      await mkdir(path.dirname(path.resolve(file)), { recursive: true });
      await writeFile(file, text);
    }
    const routes = report.routes.length;
    const below = report.routes.filter((r) => r.parity !== null && r.parity < minParity).length;
    console.log(`${routes} route(s), ${below} below ${minParity} %\nhtml:  ${values.html}\njunit: ${values.junit}`);
    return 0;
  },
};

/** A report JSON from a file, its shape checked: throws STRANGLER_ERR_REPORT_UNREADABLE or _INVALID. */
async function readReportFile(file: string): Promise<ParityReport> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw errors.reportFileUnreadable(file, (err as NodeJS.ErrnoException).code ?? String(err), err);
  }
  let value: unknown;
  try {
    value = JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (err) {
    // JSON.parse quotes the file around the error; the position is enough and prints safely
    const at = /position (\d+)/.exec((err as Error).message);
    throw errors.reportFileInvalid(file, at ? `it is not JSON (syntax error at character ${Number(at[1]) + 1})` : 'it is not JSON', 0, err);
  }
  const problems = validateParityReport(value);
  if (problems.length > 0) throw errors.reportFileInvalid(file, problems[0], problems.length - 1);
  return value as ParityReport;
}
