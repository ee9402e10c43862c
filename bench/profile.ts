import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { writeRowConfig } from './bench-config.ts';
import { createFixedRateGenerator, createLoadGenerator } from './load.ts';
import { formatProfile, startCpuProfile, stopCpuProfile, summarizeProfile, type CpuProfile } from './cpu-profile.ts';
import { forkTs, nextMessage, pinProcess, setLoadCpus, stopAll } from './processes.ts';
import { formatFigure } from './report.ts';
import { ROWS, type Row } from './rows.ts';

/**
 * npm run bench:profile: one row's process under load, sampled by V8's CPU profiler (as
 * `node --cpu-prof` does, but over the load window only, after a warm-up), then where its CPU
 * went: self time by function and by part of the stack (strangler's own modules, undici,
 * node:http and the other Node internals, the collector). The .cpuprofile is kept for Chrome
 * DevTools or speedscope. What the wall-clock bench cannot say: *why* a row costs what it does.
 */

const HERE = path.dirname(fileURLToPath(import.meta.url));
const START_TIMEOUT_MS = 20_000;
const WARMUP_S = 2;

/** the rows this script can start: a single Node process of ours */
const PROFILED: Record<string, { logLevel?: string; shadow?: boolean; floor?: true }> = {
  'node-floor': { floor: true },
  unmatched: { logLevel: 'warn' },
  'flag-on': { logLevel: 'warn' },
  'access-log': { logLevel: 'info' },
  shadow: { logLevel: 'warn', shadow: true },
};

const USAGE = `Usage: npm run bench:profile -- [options]

Samples one row of the benchmark with V8's CPU profiler (what node --cpu-prof does, over the
load window only, after a 2 s warm-up) while wrk (or, with --rate, the fixed-rate generator)
loads it, then prints where the process's CPU went: the functions with the most self time, and
the share of each part (strangler, undici, node:http and other Node internals, native calls,
garbage collection). Keeps the .cpuprofile (open it in Chrome DevTools or speedscope).

Options:
  --row <key>         the row to profile (default flag-on): ${Object.keys(PROFILED).join(', ')}
  --duration <s>      seconds of load (default 10)
  --connections <n>   concurrent keep-alive connections (default 50)
  --rate <n>          fixed request rate instead of as fast as possible
  --top <n>           functions listed (default 25)
  --pin               load and upstreams on CPU 0, the profiled process on CPU 1
  --out <dir>         where to keep the .cpuprofile (default bench/results)
  -h, --help          show this help`;

async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      row: { type: 'string', default: 'flag-on' },
      duration: { type: 'string', default: '10' },
      connections: { type: 'string', default: '50' },
      rate: { type: 'string' },
      top: { type: 'string', default: '25' },
      pin: { type: 'boolean', default: false },
      out: { type: 'string', default: path.join(HERE, 'results') },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const setup = PROFILED[values.row];
  const row = ROWS.find((r) => r.key === values.row) as Row | undefined;
  if (!setup || !row) {
    console.error(`bench:profile: no row "${values.row}" to profile; the rows are ${Object.keys(PROFILED).join(', ')}\n\n${USAGE}`);
    return 2;
  }
  const durationS = positive('--duration', values.duration);
  const connections = positive('--connections', values.connections);
  const top = positive('--top', values.top);
  const rate = values.rate === undefined ? undefined : positive('--rate', values.rate);

  const dir = await mkdtemp(path.join(os.tmpdir(), 'strangler-profile-'));
  try {
    const upstreams = await Promise.all(['the upstream', "the service's upstream"].map(async (what) => {
      const child = forkTs(path.join(HERE, 'upstream-server.ts'));
      return { ...(await nextMessage<{ url: string }>(child, what, START_TIMEOUT_MS)), pid: child.pid! };
    }));
    const child = setup.floor
      ? forkTs(path.join(HERE, 'floor-proxy.ts'), [upstreams[0].url])
      : forkTs(path.join(HERE, 'proxy-server.ts'), [await writeRowConfig(dir, { legacy: upstreams[0].url, service: upstreams[1].url }, { logLevel: setup.logLevel!, shadow: setup.shadow })]);
    const { url } = await nextMessage<{ url: string }>(child, `the ${row.key} row`, START_TIMEOUT_MS);
    if (values.pin) {
      setLoadCpus('0');
      for (const u of upstreams) pinProcess(u.pid, '0');
      pinProcess(child.pid!, '1');
    }
    const target = url + row.path;
    const fixedRate = rate ? await createFixedRateGenerator(dir) : undefined;
    const closedLoop = createLoadGenerator();
    const load = (durationS: number) => (fixedRate ? fixedRate.run(target, { connections, durationS, rate: rate! }) : closedLoop.run(target, { connections, durationS }));
    console.error(`profiling ${row.label}: ${rate ? `${rate} req/s` : `${connections} connections`}, ${WARMUP_S} s warm-up then ${durationS} s sampled …`);
    await load(WARMUP_S);
    await startCpuProfile(child);
    const result = await load(durationS);
    await mkdir(values.out, { recursive: true });
    const kept = path.join(values.out, `${new Date().toISOString().replace(/[:.]/g, '-')}-${row.key}.cpuprofile`);
    await stopCpuProfile(child, kept);
    const summary = summarizeProfile(JSON.parse(await readFile(kept, 'utf8')) as CpuProfile);
    console.log(`${row.label}, ${result.requests} requests in ${formatFigure(result.seconds, 1)} s (${formatFigure(result.rps, 0)} req/s, p99 ${formatFigure(result.p99Ms, 2)} ms, ${result.errors} errors)`);
    console.log(`CPU per request from the profile: ${((summary.busyMs * 1000) / Math.max(1, result.requests)).toFixed(1)} µs`);
    console.log(formatProfile(summary, top));
    console.log(`\nprofile: ${path.relative(process.cwd(), kept)}`);
    return 0;
  } finally {
    await stopAll();
    await rm(dir, { recursive: true, force: true });
  }
}

function positive(name: string, value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name} must be a whole number of at least 1, not "${value}"`);
  return n;
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (err) {
  console.error('bench:profile failed:', err instanceof Error ? err.message : err);
  process.exitCode = 1;
}
