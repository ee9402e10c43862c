import { spawnSync, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { writeRowConfig, type RowUpstreams } from './bench-config.ts';
import { formatDecide, measureDecide } from './decide.ts';
import { addGcPauses, readGcPauses, type GcPauses } from './gc-pauses.ts';
import { createFixedRateGenerator, createLoadGenerator, type FixedRateGenerator, type LoadGenerator, type LoadResult } from './load.ts';
import { childPids, describeCode, forkTs, freePort, isListening, nextMessage, pinProcess, readCpuMicros, readRssBytes, readTreeCpuMicros, readTreeRssBytes, setLoadCpus, spawnTracked, stopAll } from './processes.ts';
import { nginxMissing, startNginx } from './nginx.ts';
import { formatSoak, parseSoakDuration, soak } from './soak.ts';
import type { Peer } from './peer-proxy.ts';
import { ROOM_PATH, ROWS, SERVICE, type Row, type Via } from './rows.ts';
import { formatFigure, formatTable, median, relateToFloor, relateToNginx, summarizeRow, type RoundResult, type RowSummary } from './report.ts';


const DEFAULTS = { durationS: 10, connections: 50, rounds: 3, decideIterations: 1_000_000 };
const QUICK = { durationS: 1, rounds: 1, decideIterations: 100_000 };
const WARMUP_MAX_S = 2;
const START_TIMEOUT_MS = 20_000;
const HERE = path.dirname(fileURLToPath(import.meta.url));

const USAGE = `Usage: npm run bench -- [options]

Measures what the proxy costs: the same keep-alive load against the upstream directly and
through the proxy (unmatched → legacy, matched with the flag on → service, and with the info
access log), rows interleaved per round; then the per-request decision without sockets.
Prints a table and writes JSON to bench/results/<timestamp>.json.

Options:
  --duration <s>      seconds per row and round (default 10)
  --connections <n>   concurrent keep-alive connections (default 50)
  --rounds <n>        rounds; each row reports the median (default 3)
  --quick             CI smoke test: 1 s per row, 1 round, no warm-up, a short decision run
  --rate <n>          request rate of the fixed-rate latency table (default 8000)
  --shadow-rate <n>   request rate of the shadow-against-pass-through table (default 2000;
                      run when both the flag-on and the shadow rows are)
  --soak <duration>   instead of the table: keep the matched row under load for this long
                      (e.g. 10m) and report the proxy's RSS over time
  --rows <keys>       only these rows, comma-separated (direct is always run: ratios need it):
                      ${ROWS.filter((r) => r.key !== 'direct').map((r) => r.key).join(', ')}
  --pin               bind the load generator and the upstream to CPU 0 and the proxy (or
                      nginx) being measured to CPU 1 (taskset), for steadier rows on a small
                      machine; the --workers row stays unpinned; needs 2 CPUs
  --json <file>       where to write the JSON results
  -h, --help          show this help`;

interface Options {
  durationS: number;
  connections: number;
  rounds: number;
  warmup: boolean;
  decideIterations: number;
  jsonFile: string;
  /** req/s of the fixed-rate table */
  rate: number;
  /** req/s of the shadow table: shadow against pass-through below saturation */
  shadowRate: number;
  /** load generator and upstream on CPU 0, the measured proxy on CPU 1 */
  pin: boolean;
  /** the rows to run; all when undefined */
  rowKeys?: readonly string[];
  /** seconds of soak, when --soak was given */
  soakS?: number;
}

interface Endpoint {
  url: string;
  /** the proxy process whose CPU and memory the row reports */
  pid?: number;
  /** count the process's children too (cluster workers) */
  tree?: boolean;
  /** a bench child that reports its GC pauses over IPC (gc-pauses.ts) */
  child?: ChildProcess;
}

class UsageError extends Error {}

let tmpDir: string | undefined;
let interrupted = false;
let cleaning: Promise<void> | undefined;

function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    await stopAll();
    if (tmpDir) await rm(tmpDir, { recursive: true, force: true });
  })();
  return cleaning;
}

function parseOptions(argv: string[]): Options | undefined {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      options: {
        duration: { type: 'string' },
        connections: { type: 'string' },
        rounds: { type: 'string' },
        quick: { type: 'boolean', default: false },
        json: { type: 'string' },
        soak: { type: 'string' },
        rate: { type: 'string' },
        'shadow-rate': { type: 'string' },
        rows: { type: 'string' },
        pin: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }));
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  if (values.help) return undefined;
  const base = values.quick ? { ...DEFAULTS, ...QUICK } : DEFAULTS;
  const soakS = values.soak === undefined ? undefined : parseSoakDuration(values.soak);
  if (values.soak !== undefined && !soakS) throw new UsageError(`--soak "${values.soak}" is not a duration; write e.g. 10m, 90s`);
  const rowKeys = values.rows?.split(',').map((k) => k.trim()).filter(Boolean);
  const unknown = rowKeys?.filter((k) => !ROWS.some((r) => r.key === k));
  if (unknown?.length) throw new UsageError(`--rows: no row ${unknown.map((k) => `"${k}"`).join(', ')}; the rows are ${ROWS.map((r) => r.key).join(', ')}`);
  if (values.pin && (os.availableParallelism() < 2 || spawnSync('taskset', ['-V']).status !== 0)) {
    throw new UsageError('--pin needs 2 CPUs and taskset (util-linux)');
  }
  return {
    pin: values.pin,
    soakS,
    rowKeys: rowKeys && ['direct', ...rowKeys.filter((k) => k !== 'direct')],
    rate: readPositiveInt('--rate', values.rate, 8000),
    shadowRate: readPositiveInt('--shadow-rate', values['shadow-rate'], 2000),
    durationS: readPositiveInt('--duration', values.duration, base.durationS),
    connections: readPositiveInt('--connections', values.connections, base.connections),
    rounds: readPositiveInt('--rounds', values.rounds, base.rounds),
    warmup: !values.quick,
    decideIterations: base.decideIterations,
    jsonFile: path.resolve(values.json ?? path.join(HERE, 'results', `${new Date().toISOString().replace(/[:.]/g, '-')}.json`)),
  };
}

function readPositiveInt(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`${name} must be a whole number of at least 1, not "${value}"`);
  return n;
}

async function main(options: Options): Promise<void> {
  const load = createLoadGenerator();
  const cpus = os.cpus();
  const machine = { cpus: cpus.length, cpuModel: cpus[0]?.model ?? 'unknown', os: `${os.type()} ${os.release()} ${os.arch()}`, node: process.version };
  const command = [path.basename(process.execPath), ...process.execArgv, path.relative(process.cwd(), process.argv[1]), ...process.argv.slice(2)].join(' ');
  const startedAt = new Date().toISOString();

  tmpDir = await mkdtemp(path.join(os.tmpdir(), 'strangler-bench-'));
  const fixedRateLoad = await createFixedRateGenerator(tmpDir);
  const noNginx = await nginxMissing();
  const endpoints = await startProcesses(tmpDir, !noNginx);
  if (options.pin) pinEndpoints(endpoints);
  const rowsToRun = ROWS.filter((row) => endpoints[row.via] && (!options.rowKeys || options.rowKeys.includes(row.key)));
  await assertRouting(endpoints, rowsToRun);

  const header = [
    `strangler proxy benchmark, ${startedAt}`,
    `machine: ${machine.cpus} × ${machine.cpuModel}, ${machine.os}, node ${machine.node}`,
    `command: ${command}`,
    `load:    ${load.description}; ${options.connections} connections, ${options.durationS} s per row × ${options.rounds} round${options.rounds === 1 ? '' : 's'} (rows interleaved, medians shown)${options.warmup ? `, ${Math.min(WARMUP_MAX_S, options.durationS)} s warm-up per row` : ', no warm-up'}`,
    `fixed rate: ${fixedRateLoad.description}`,
    `code:    ${describeCode()}`,
    `upstreams: two Node processes answering ${endpoints.bodyBytes} B of JSON, one for legacy (and direct, nginx, the floor and peers), one for the proxy's service`,
    ...(options.pin ? ['pinning: load generator and upstream on CPU 0, the proxy or nginx being measured on CPU 1 (the --workers row unpinned)'] : []),
    endpoints.nginxVersion ? `nginx:   ${endpoints.nginxVersion}, 1 worker, keepalive 128 to the upstream, access_log off` : noNginx!,
  ].join('\n');
  console.log(`${header}\n`);

  const idleRssMb = (await readRssBytes(endpoints.proxy!.pid!)) / 2 ** 20;
  console.log(`proxy idle RSS (started, before any load): ${idleRssMb.toFixed(1)} MB\n`);

  if (options.soakS) {
    const proxy = endpoints.proxy!;
    const result = await soak(load, proxy.url + ROOM_PATH, proxy.pid!, options.soakS, options.connections, (line) => console.error(line));
    console.log(formatSoak(result));
    await writeResults(options.jsonFile, { startedAt, command, machine, options, loadGenerator: load.description, idleRssMb, soak: result });
    return;
  }

  if (options.warmup) {
    for (const row of rowsToRun) await load.run(endpoints[row.via]!.url + row.path, { connections: options.connections, durationS: Math.min(WARMUP_MAX_S, options.durationS) });
  }
  const rounds = new Map<string, RoundResult[]>(rowsToRun.map((row) => [row.key, []]));
  for (let round = 1; round <= options.rounds; round++) {
    for (const row of rowsToRun) {
      console.error(`round ${round}/${options.rounds}: ${row.label}`);
      rounds.get(row.key)!.push(await measure(load, endpoints[row.via]!, row.path, options));
    }
  }
  const rows: RowSummary[] = [];
  for (const row of rowsToRun) rows.push(summarizeRow(row.key, row.label, rounds.get(row.key)!, rows[0]?.rps));
  relateToNginx(rows, 'nginx');
  relateToFloor(rows, 'node-floor');
  console.log(`${formatTable(rows)}\n`);

  const fixedRate = await measureFixedRate(fixedRateLoad, endpoints, rowsToRun, options, options.rate);
  console.log(`${formatFixedRate(fixedRate, options.rate, fixedRateLoad.description)}\n`);

  // the shadow row's own table, at a rate the copy's doubled upstream work leaves room for
  const shadowRows = rowsToRun.filter((row) => ['direct', 'flag-on', 'shadow'].includes(row.key));
  let shadowTable: { rate: number; rows: FixedRateRow[]; p99Ratio: number } | undefined;
  if (shadowRows.some((row) => row.key === 'shadow') && shadowRows.some((row) => row.key === 'flag-on')) {
    const rows = await measureFixedRate(fixedRateLoad, endpoints, shadowRows, options, options.shadowRate);
    const p99 = (key: string) => rows.find((r) => r.key === key)!.p99Ms;
    shadowTable = { rate: options.shadowRate, rows, p99Ratio: p99('shadow') / p99('flag-on') };
    console.log(formatFixedRate(rows, options.shadowRate, fixedRateLoad.description));
    console.log(`shadow p99 / pass-through p99 at ${options.shadowRate} req/s: ${formatFigure(shadowTable.p99Ratio, 2, '×')}\n`);
  }

  await stopAll(); // the decision benchmark needs the CPU to itself
  const decide = await measureDecide(options.decideIterations, tmpDir);
  console.log(`${formatDecide(decide)}\n`);

  await writeResults(options.jsonFile, { startedAt, command, machine, options, loadGenerator: load.description, fixedRateGenerator: fixedRateLoad.description, idleRssMb, rows, fixedRate, shadowTable, decide });
}

interface FixedRateRow {
  key: string;
  label: string;
  rps: number;
  p50Ms: number;
  p99Ms: number;
  /** p99 minus the direct row's p99 */
  addedP99Ms: number;
  errors: number;
  /** the proxy's GC pauses over all rounds (Node rows only) */
  gc?: GcPauses & { seconds: number };
}

/** Tail latency at a fixed request rate, each row once per round, medians; what a user feels below saturation. */
async function measureFixedRate(load: FixedRateGenerator, endpoints: Endpoints, rows: readonly Row[], options: Options, rate: number): Promise<FixedRateRow[]> {
  const picked = rows.filter((row) => row.key !== 'workers-2');
  const results = new Map<string, LoadResult[]>(picked.map((row) => [row.key, []]));
  const pauses = new Map<string, GcPauses[]>(picked.map((row) => [row.key, []]));
  for (let round = 1; round <= options.rounds; round++) {
    for (const row of picked) {
      console.error(`fixed rate ${rate}/s, round ${round}/${options.rounds}: ${row.label}`);
      const { child, url } = endpoints[row.via]!;
      if (child) await readGcPauses(child); // starts the count for this run
      results.get(row.key)!.push(await load.run(url + row.path, { connections: options.connections, durationS: options.durationS, rate }));
      if (child) pauses.get(row.key)!.push(await readGcPauses(child));
    }
  }
  const direct = median(results.get('direct')!.map((r) => r.p99Ms));
  return picked.map((row) => {
    const r = results.get(row.key)!;
    const p99Ms = median(r.map((x) => x.p99Ms));
    const gc = pauses.get(row.key)!;
    return {
      key: row.key,
      label: row.label,
      rps: median(r.map((x) => x.rps)),
      p50Ms: median(r.map((x) => x.p50Ms)),
      p99Ms,
      addedP99Ms: p99Ms - direct,
      errors: r.reduce((n, x) => n + x.errors, 0),
      ...(gc.length > 0 ? { gc: { ...addGcPauses(gc), seconds: r.reduce((n, x) => n + x.seconds, 0) } } : {}),
    };
  });
}

function formatFixedRate(rows: readonly FixedRateRow[], rate: number, generator: string): string {
  const width = Math.max(...rows.map((r) => r.label.length));
  return [
    `fixed rate ${rate} req/s (open loop: ${generator}; latency from each request's scheduled start)`,
    `${'row'.padEnd(width)}   req/s  p50 ms  p99 ms  added p99 ms  errors  scavenges/s  scavenge ms  full GCs  full GC ms  longest GC ms`,
    ...rows.map((r) => `${r.label.padEnd(width)}  ${formatFigure(r.rps, 0).padStart(6)}  ${formatFigure(r.p50Ms, 2).padStart(6)}  ${formatFigure(r.p99Ms, 2).padStart(6)}  ${(r.key === 'direct' ? '–' : formatFigure(r.addedP99Ms, 2)).padStart(12)}  ${String(r.errors).padStart(6)}  ${formatGc(r.gc)}`),
    'GC columns: pauses the proxy process reported (perf_hooks), all rounds; scavenge and full-GC ms are the mean pause; a full GC\'s incremental marking before its final pause is not counted',
  ].join('\n');
}

function formatGc(gc: FixedRateRow['gc']): string {
  if (!gc) return `${'–'.padStart(11)}  ${'–'.padStart(11)}  ${'–'.padStart(8)}  ${'–'.padStart(10)}  ${'–'.padStart(13)}`;
  const mean = (ms: number, n: number) => (n === 0 ? '–' : (ms / n).toFixed(2));
  return [
    (gc.minor / gc.seconds).toFixed(1).padStart(11),
    mean(gc.minorMs, gc.minor).padStart(11),
    String(gc.major).padStart(8),
    mean(gc.majorMs, gc.major).padStart(10),
    gc.longestMs.toFixed(2).padStart(13),
  ].join('  ');
}

async function writeResults(jsonFile: string, results: object): Promise<void> {
  await mkdir(path.dirname(jsonFile), { recursive: true });
  await writeFile(jsonFile, `${JSON.stringify(results, null, 2)}\n`);
  const shown = path.relative(process.cwd(), jsonFile);
  console.log(`results: ${shown.startsWith('..') ? jsonFile : shown}`);
}

type Endpoints = Partial<Record<Via, Endpoint>> & { bodyBytes: number; nginxVersion?: string; upstreamPids: number[] };

function pinEndpoints(endpoints: Endpoints): void {
  setLoadCpus('0');
  for (const pid of endpoints.upstreamPids) pinProcess(pid, '0');
  for (const via of ['nginx', 'floor', 'peerHttpProxy', 'peerFastify', 'proxy', 'proxyInfo', 'proxyShadow'] as const) {
    const pid = endpoints[via]?.pid;
    if (pid) pinProcess(pid, '1');
  }
}

/**
 * The upstreams, nginx, the reference proxies and the proxy's rows, each its own process. The
 * proxy's service is a second upstream process, as an extracted service is in production: the
 * shadow row's copy then does not queue behind the primary's request in one upstream.
 */
async function startProcesses(dir: string, withNginx: boolean): Promise<Endpoints> {
  const startUpstream = async (what: string) => {
    const child = forkTs(path.join(HERE, 'upstream-server.ts'));
    return { ...(await nextMessage<{ url: string; bodyBytes: number }>(child, what, START_TIMEOUT_MS)), pid: child.pid! };
  };
  const [upstream, serviceUpstream] = await Promise.all([startUpstream('the upstream'), startUpstream("the service's upstream")]);
  const upstreams = { legacy: upstream.url, service: serviceUpstream.url };
  const startProxy = async (logLevel: string, shadow = false): Promise<Endpoint> => {
    const file = await writeRowConfig(dir, upstreams, { logLevel, shadow });
    const child = forkTs(path.join(HERE, 'proxy-server.ts'), [file]);
    const { url } = await nextMessage<{ url: string }>(child, `the proxy (log ${logLevel}${shadow ? ', shadow' : ''})`, START_TIMEOUT_MS);
    return { url, pid: child.pid, child };
  };
  const startFloor = async (): Promise<Endpoint> => {
    const child = forkTs(path.join(HERE, 'floor-proxy.ts'), [upstream.url]);
    const { url } = await nextMessage<{ url: string }>(child, 'the Node floor proxy', START_TIMEOUT_MS);
    return { url, pid: child.pid, child };
  };
  const startPeer = async (peer: Peer): Promise<Endpoint> => {
    const child = forkTs(path.join(HERE, 'peer-proxy.ts'), [peer, upstream.url]);
    const { url } = await nextMessage<{ url: string }>(child, `the ${peer} peer proxy`, START_TIMEOUT_MS);
    return { url, pid: child.pid, child };
  };
  const [proxy, proxyInfo, proxyShadow, floor, peerHttpProxy, peerFastify] = await Promise.all([
    startProxy('warn'),
    startProxy('info'),
    startProxy('warn', true),
    startFloor(),
    startPeer('http-proxy'),
    startPeer('fastify-http-proxy'),
  ]);
  const nginx = withNginx ? await startNginx(dir, upstream.url) : undefined;
  const proxyWorkers = await startCliProxy(dir, upstreams, 2);
  return {
    upstream: { url: upstream.url },
    upstreamPids: [upstream.pid, serviceUpstream.pid],
    nginx: nginx && { url: nginx.url, pid: nginx.workerPid },
    nginxVersion: nginx?.version,
    floor,
    peerHttpProxy,
    peerFastify,
    proxy,
    proxyInfo,
    proxyWorkers,
    proxyShadow,
    bodyBytes: upstream.bodyBytes,
  };
}

/** `strangler proxy --workers n` exactly as an operator starts it; its CPU is the primary's and the workers' together. */
async function startCliProxy(dir: string, upstreams: RowUpstreams, workers: number): Promise<Endpoint> {
  const file = await writeRowConfig(dir, upstreams, { logLevel: 'warn' });
  const port = await freePort();
  const child = spawnTracked(process.execPath, [path.join(HERE, '..', 'bin', 'strangler.js'), 'proxy', '--config', file, '--listen', `127.0.0.1:${port}`, '--workers', String(workers)]);
  const deadline = Date.now() + START_TIMEOUT_MS;
  while ((await childPids(child.pid!)).length < workers || !(await isListening(port))) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`strangler proxy --workers ${workers} did not start`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return { url: `http://127.0.0.1:${port}`, pid: child.pid, tree: true };
}

/** A row that measured the wrong path would still print plausible numbers: check each one first. */
async function assertRouting(endpoints: Endpoints, rows: readonly Row[]): Promise<void> {
  for (const row of rows) {
    const res = await fetch(endpoints[row.via]!.url + row.path);
    await res.arrayBuffer();
    const target = res.headers.get('x-strangler-target') ?? undefined;
    if (res.status !== 200 || target !== row.expect) {
      throw new Error(`${row.label}: expected 200 from ${row.expect ?? 'the upstream'}, got ${res.status} from ${target ?? 'the upstream'}`);
    }
  }
}

async function measure(load: LoadGenerator, endpoint: Endpoint, urlPath: string, options: Options): Promise<RoundResult> {
  const { pid, tree } = endpoint;
  const readCpu = tree ? readTreeCpuMicros : readCpuMicros;
  const cpuBefore = pid === undefined ? 0 : await readCpu(pid);
  const result = await load.run(endpoint.url + urlPath, { connections: options.connections, durationS: options.durationS });
  if (pid === undefined) return result;
  const cpuUs = (await readCpu(pid)) - cpuBefore;
  return { ...result, proxyCpuUsPerRequest: cpuUs / Math.max(1, result.requests), proxyRssBytes: await (tree ? readTreeRssBytes : readRssBytes)(pid) };
}

for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
  process.once(signal, () => {
    interrupted = true;
    console.error(`\n${signal}: stopping the benchmark's processes`);
    void cleanup().finally(() => process.exit(code));
  });
}

try {
  const options = parseOptions(process.argv.slice(2));
  if (!options) console.log(USAGE);
  else await main(options);
} catch (err) {
  if (err instanceof UsageError) {
    console.error(`bench: ${err.message}\n\n${USAGE}`);
    process.exitCode = 2;
  } else if (!interrupted) {
    // after a signal, the runs it cut short fail too: that is no news
    console.error('bench failed:', err);
    process.exitCode = 1;
  }
} finally {
  await cleanup();
}
