import { spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { forkTs, nextMessage, runCommand } from './processes.ts';

export interface LoadOptions {
  connections: number;
  /** whole seconds: wrk accepts nothing finer */
  durationS: number;
}

export interface FixedRateGenerator {
  /** which generator, as printed with the table */
  readonly description: string;
  /** Open-loop load at a fixed request rate; latencies count from each request's scheduled start. */
  run(url: string, options: LoadOptions & { rate: number }): Promise<LoadResult>;
}

/**
 * bench/open-loop.c compiled with the machine's C compiler (a few µs of CPU per request, evenly
 * spaced requests), else the Node generator, which shares the cores with the rows it measures
 * at a far higher CPU cost and so inflates every row's tail.
 */
export async function createFixedRateGenerator(buildDir: string): Promise<FixedRateGenerator> {
  const binary = await buildOpenLoop(buildDir);
  if (binary.ok) {
    return {
      description: `bench/open-loop.c (epoll, evenly spaced requests, ${binary.compiler})`,
      async run(url, { connections, durationS, rate }) {
        const { hostname, port, pathname, search } = new URL(url);
        const out = await runCommand(binary.file, [hostname, port, pathname + search, String(connections), String(rate), String(durationS)], durationS * 1000 + OVERRUN_MS);
        return JSON.parse(out.trim().split('\n').pop()!) as LoadResult;
      },
    };
  }
  return {
    description: `built-in Node open-loop generator (${binary.why})`,
    async run(url, { connections, durationS, rate }) {
      const child = forkTs(NODE_LOAD, [url, String(connections), String(durationS), String(rate)]);
      return nextMessage<LoadResult>(child, 'the fixed-rate load generator', durationS * 1000 + OVERRUN_MS);
    },
  };
}

const OPEN_LOOP_SOURCE = fileURLToPath(new URL('./open-loop.c', import.meta.url));

async function buildOpenLoop(buildDir: string): Promise<{ ok: true; file: string; compiler: string } | { ok: false; why: string }> {
  const compiler = findOnPath('cc') ?? findOnPath('gcc');
  if (!compiler) return { ok: false, why: 'no C compiler on PATH to build bench/open-loop.c; apt-get install -y gcc' };
  const file = path.join(buildDir, 'open-loop');
  const built = spawnSync(compiler, ['-O2', '-o', file, OPEN_LOOP_SOURCE], { encoding: 'utf8' });
  if (built.status !== 0) return { ok: false, why: `bench/open-loop.c did not compile: ${(built.stderr || built.error?.message || '').trim().split('\n')[0]}` };
  return { ok: true, file, compiler: path.basename(compiler) };
}

export interface LoadResult {
  requests: number;
  seconds: number;
  rps: number;
  p50Ms: number;
  p99Ms: number;
  /** non-2xx/3xx answers plus socket errors */
  errors: number;
  /**
   * Figures the generator did not give (NaN above), each with why, and its output as printed:
   * a run reports what it could read instead of dying on what it could not.
   */
  missing?: { figures: string[]; output: string };
}

export interface LoadGenerator {
  /** which generator, as printed with the results */
  readonly description: string;
  run(url: string, options: LoadOptions): Promise<LoadResult>;
}

/** A run may overrun its duration by this much (connection set-up, latency tail) before it is killed. */
const OVERRUN_MS = 15_000;
const NODE_LOAD = fileURLToPath(new URL('./node-load.ts', import.meta.url));

/** wrk when it is on PATH (it costs far less CPU per request than a Node client), else the built-in one. */
export function createLoadGenerator(): LoadGenerator {
  const wrk = findOnPath('wrk');
  return wrk ? createWrkGenerator(wrk) : createNodeGenerator();
}

function createWrkGenerator(wrk: string): LoadGenerator {
  // wrk -v prints its version and exits 1.
  const version = /^wrk [^\s]+/.exec(spawnSync(wrk, ['-v'], { encoding: 'utf8' }).stdout ?? '')?.[0] ?? 'wrk';
  // The proxy and the upstream need the other cores.
  const threads = Math.max(1, Math.floor(availableParallelism() / 4));
  return {
    description: `${version} (${wrk}), ${threads} thread${threads === 1 ? '' : 's'}`,
    async run(url, { connections, durationS }) {
      const args = ['-t', String(Math.min(threads, connections)), '-c', String(connections), '-d', `${durationS}s`, '--latency', url];
      const result = parseWrkOutput(await runCommand(wrk, args, durationS * 1000 + OVERRUN_MS));
      if (result.missing) console.error(formatMissing(result.missing, 'wrk'));
      return result;
    },
  };
}

function createNodeGenerator(): LoadGenerator {
  return {
    description: 'built-in Node keep-alive generator (wrk not on PATH), 1 process',
    async run(url, { connections, durationS }) {
      const child = forkTs(NODE_LOAD, [url, String(connections), String(durationS)]);
      return nextMessage<LoadResult>(child, 'the load generator', durationS * 1000 + OVERRUN_MS);
    },
  };
}

/**
 * wrk's time figures: a number and one of its units (wrk's units.c: us, ms, s, then m and h),
 * the unit padded to two characters, so `1.09s ` and `2.00m ` end in a space.
 */
const WRK_TIME = String.raw`(\d+(?:\.\d+)?)\s*(us|ms|s|m|h)(?![a-z])`;
const MS_PER: Record<string, number> = { us: 1e-3, ms: 1, s: 1e3, m: 60e3, h: 3600e3 };

/**
 * Reads what `wrk --latency` prints: request count, duration, req/s, the 50 % and 99 %
 * latencies, errors. A figure it cannot find is NaN and named in `missing`, with wrk's text.
 */
export function parseWrkOutput(text: string): LoadResult {
  const missing: string[] = [];
  const figure = (name: string, match: RegExpExecArray | null, read: (m: RegExpExecArray) => number): number => {
    if (match) return read(match);
    missing.push(name);
    return NaN;
  };
  const total = new RegExp(String.raw`(\d+) requests in ${WRK_TIME}`).exec(text);
  const requests = figure('requests (no "N requests in T" line)', total, (m) => Number(m[1]));
  const seconds = figure('duration (no "N requests in T" line)', total, (m) => toMs(m[2], m[3]) / 1000);
  const rps = figure('req/s (no "Requests/sec:" line)', /Requests\/sec:\s*(\d+(?:\.\d+)?)/.exec(text), (m) => Number(m[1]));
  const non2xx = Number(/Non-2xx or 3xx responses:\s*(\d+)/.exec(text)?.[1] ?? 0);
  const socket = /Socket errors:\s*connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(text);
  const socketErrors = socket ? socket.slice(1).reduce((sum, n) => sum + Number(n), 0) : 0;
  const timeouts = socket ? Number(socket[4]) : 0;
  // wrk records no latency for an answer slower than its --timeout and prints 0.00us when it
  // recorded none: those zeros are no figure
  const timed = requests - timeouts > 0;
  const latency = (p: string): number => {
    const name = `p${p} latency`;
    if (!Number.isNaN(requests) && !timed) {
      missing.push(`${name} (no answer within wrk's --timeout: ${timeouts} timeouts of ${requests} requests)`);
      return NaN;
    }
    const match = new RegExp(String.raw`^\s*${p}(?:\.0+)?%\s+${WRK_TIME}\s*$`, 'm').exec(text);
    return figure(`${name} (no "${p}%" line; run wrk with --latency)`, match, (m) => toMs(m[1], m[2]));
  };
  const p50Ms = latency('50');
  const p99Ms = latency('99');
  return {
    requests,
    seconds,
    rps,
    p50Ms,
    p99Ms,
    errors: non2xx + socketErrors,
    ...(missing.length > 0 ? { missing: { figures: missing, output: text } } : {}),
  };
}

/** What the run could not measure, and what the generator printed, for the bench's output. */
export function formatMissing(missing: NonNullable<LoadResult['missing']>, generator: string): string {
  const output = missing.output.trimEnd().split('\n').map((line) => `  | ${line}`).join('\n');
  return `${generator}: reported as missing: ${missing.figures.join('; ')}; ${generator} printed:\n${output}`;
}

function toMs(value: string, unit: string): number {
  return Number(value) * MS_PER[unit];
}

function findOnPath(command: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const file = path.join(dir, command);
    try {
      accessSync(file, constants.X_OK);
      return file;
    } catch {
      // not in this folder
    }
  }
  return undefined;
}
