import type { LoadResult } from './load.ts';

/** One measured run of one row. */
export interface RoundResult extends LoadResult {
  /** utime + stime the proxy spent per answered request; undefined for the direct row */
  proxyCpuUsPerRequest?: number;
  /** proxy RSS right after the run */
  proxyRssBytes?: number;
}

export interface RowSummary {
  key: string;
  label: string;
  rounds: RoundResult[];
  /** medians over the rounds */
  rps: number;
  p50Ms: number;
  p99Ms: number;
  /** rps over the direct row's rps */
  ratioToDirect: number;
  /** rps over the nginx row's rps, when nginx was measured */
  ratioToNginx?: number;
  /** proxy CPU per request over nginx's, when nginx was measured */
  cpuToNginx?: number;
  /** proxy CPU per request over the Node floor's: what strangler's own work adds to Node's */
  cpuToFloor?: number;
  proxyCpuUsPerRequest?: number;
  /** after the last round */
  proxyRssBytes?: number;
  errors: number;
}

/** Over the figures measured: a round whose figure is missing (NaN) does not count; none measured is NaN. */
export function median(values: readonly number[]): number {
  const sorted = values.filter((v) => !Number.isNaN(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

export function summarizeRow(key: string, label: string, rounds: RoundResult[], directRps: number | undefined): RowSummary {
  const rps = median(rounds.map((r) => r.rps));
  const cpu = rounds.map((r) => r.proxyCpuUsPerRequest).filter((v): v is number => v !== undefined);
  return {
    key,
    label,
    rounds,
    rps,
    p50Ms: median(rounds.map((r) => r.p50Ms)),
    p99Ms: median(rounds.map((r) => r.p99Ms)),
    ratioToDirect: rps / (directRps ?? rps),
    proxyCpuUsPerRequest: cpu.length > 0 ? median(cpu) : undefined,
    proxyRssBytes: rounds[rounds.length - 1].proxyRssBytes,
    errors: rounds.reduce((sum, r) => sum + r.errors, 0),
  };
}

/** Adds the ratios to the nginx row (same run, same machine) to every row. */
export function relateToNginx(rows: RowSummary[], nginxKey: string): void {
  const nginx = rows.find((r) => r.key === nginxKey);
  if (!nginx) return;
  for (const row of rows) {
    row.ratioToNginx = row.rps / nginx.rps;
    if (row.proxyCpuUsPerRequest !== undefined && nginx.proxyCpuUsPerRequest) row.cpuToNginx = row.proxyCpuUsPerRequest / nginx.proxyCpuUsPerRequest;
  }
}

/** Adds each row's CPU per request over the Node floor row's (same run), when it was measured. */
export function relateToFloor(rows: RowSummary[], floorKey: string): void {
  const floor = rows.find((r) => r.key === floorKey);
  if (!floor?.proxyCpuUsPerRequest) return;
  for (const row of rows) {
    if (row.proxyCpuUsPerRequest !== undefined && row.key !== 'nginx') row.cpuToFloor = row.proxyCpuUsPerRequest / floor.proxyCpuUsPerRequest;
  }
}

/** A figure for a table: `missing` when the load generator did not give it (see LoadResult.missing). */
export function formatFigure(value: number, digits: number, suffix = ''): string {
  return Number.isNaN(value) ? 'missing' : `${value.toFixed(digits)}${suffix}`;
}

const COLUMNS = ['row', 'req/s', 'p50 ms', 'p99 ms', 'vs direct', 'vs nginx', 'proxy CPU µs/req', 'CPU vs nginx', 'CPU vs floor', 'proxy RSS MB', 'errors'];

export function formatTable(rows: readonly RowSummary[]): string {
  const cells = rows.map((r) => [
    r.label,
    formatFigure(r.rps, 0),
    formatFigure(r.p50Ms, 2),
    formatFigure(r.p99Ms, 2),
    formatFigure(r.ratioToDirect, 2, '×'),
    r.ratioToNginx === undefined ? '–' : formatFigure(r.ratioToNginx, 2, '×'),
    r.proxyCpuUsPerRequest === undefined ? '–' : r.proxyCpuUsPerRequest.toFixed(1),
    r.cpuToNginx === undefined ? '–' : `${r.cpuToNginx.toFixed(2)}×`,
    r.cpuToFloor === undefined ? '–' : `${r.cpuToFloor.toFixed(2)}×`,
    r.proxyRssBytes === undefined ? '–' : (r.proxyRssBytes / 2 ** 20).toFixed(1),
    String(r.errors),
  ]);
  const widths = COLUMNS.map((c, i) => Math.max(c.length, ...cells.map((row) => row[i].length)));
  const line = (row: string[]) => row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join('  ');
  return [line(COLUMNS), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.map(line)].join('\n');
}
