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
      return parseWrkOutput(await runCommand(wrk, args, durationS * 1000 + OVERRUN_MS));
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

/** Reads what `wrk --latency` prints: request count, duration, req/s, the 50 % and 99 % latencies, errors. */
export function parseWrkOutput(text: string): LoadResult {
  const total = /(\d+) requests in ([\d.]+)(us|ms|s|m)\b/.exec(text);
  const rps = /Requests\/sec:\s+([\d.]+)/.exec(text);
  const p50 = /^\s+50%\s+([\d.]+)(us|ms|s|m)$/m.exec(text);
  const p99 = /^\s+99%\s+([\d.]+)(us|ms|s|m)$/m.exec(text);
  if (!total || !rps || !p50 || !p99) throw new Error(`unexpected wrk output:\n${text}`);
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(text)?.[1] ?? 0);
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(text);
  const socketErrors = socket ? socket.slice(1).reduce((sum, n) => sum + Number(n), 0) : 0;
  return {
    requests: Number(total[1]),
    seconds: toMs(total[2], total[3]) / 1000,
    rps: Number(rps[1]),
    p50Ms: toMs(p50[1], p50[2]),
    p99Ms: toMs(p99[1], p99[2]),
    errors: non2xx + socketErrors,
  };
}

function toMs(value: string, unit: string): number {
  const scale: Record<string, number> = { us: 1e-3, ms: 1, s: 1e3, m: 60e3 };
  return Number(value) * scale[unit];
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
