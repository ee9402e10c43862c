import type { LoadGenerator } from './load.ts';
import { readRssBytes } from './processes.ts';
import { formatFigure } from './report.ts';

export interface SoakSample {
  /** seconds since the soak began */
  atS: number;
  rssMb: number;
  rps: number;
  p99Ms: number;
  errors: number;
}

export interface SoakResult {
  samples: SoakSample[];
  /** RSS after the first minute (or the first sample of a shorter soak) */
  baselineMb: number;
  finalMb: number;
  /** (final - baseline) / baseline */
  drift: number;
}

const SEGMENT_S = 30;

/** Keeps the proxy under steady load for durationS, reading its RSS after every segment. */
export async function soak(load: LoadGenerator, url: string, pid: number, durationS: number, connections: number, progress: (line: string) => void): Promise<SoakResult> {
  const samples: SoakSample[] = [];
  let elapsed = 0;
  while (elapsed < durationS) {
    const segment = Math.min(SEGMENT_S, durationS - elapsed);
    const result = await load.run(url, { connections, durationS: segment });
    elapsed += segment;
    const sample = { atS: elapsed, rssMb: (await readRssBytes(pid)) / 2 ** 20, rps: result.rps, p99Ms: result.p99Ms, errors: result.errors };
    samples.push(sample);
    progress(`soak ${fmtTime(elapsed)}/${fmtTime(durationS)}: RSS ${sample.rssMb.toFixed(1)} MB, ${formatFigure(sample.rps, 0)} req/s, p99 ${formatFigure(sample.p99Ms, 2)} ms`);
  }
  const baseline = samples.find((s) => s.atS >= 60) ?? samples[0];
  const finalMb = samples[samples.length - 1].rssMb;
  return { samples, baselineMb: baseline.rssMb, finalMb, drift: (finalMb - baseline.rssMb) / baseline.rssMb };
}

export function formatSoak(result: SoakResult): string {
  const rows = result.samples.map((s) => `  ${fmtTime(s.atS).padStart(6)}  ${s.rssMb.toFixed(1).padStart(8)}  ${formatFigure(s.rps, 0).padStart(7)}  ${formatFigure(s.p99Ms, 2).padStart(7)}  ${String(s.errors).padStart(6)}`);
  return [
    '    time    RSS MB    req/s   p99 ms  errors',
    ...rows,
    `RSS after the first minute ${result.baselineMb.toFixed(1)} MB, at the end ${result.finalMb.toFixed(1)} MB: ${(result.drift * 100).toFixed(1)} % (goal: within ±10 %)`,
  ].join('\n');
}

/** "10m", "90s", "1h" or seconds → seconds; undefined when not a duration. */
export function parseSoakDuration(text: string): number | undefined {
  const m = /^(\d+)(s|m|h)?$/.exec(text);
  if (!m) return undefined;
  return Number(m[1]) * (m[2] === 'h' ? 3600 : m[2] === 'm' ? 60 : 1);
}

function fmtTime(s: number): string {
  return s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s` : `${s}s`;
}
