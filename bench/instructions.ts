import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Pool } from 'undici';
import { resolveEntry } from '../bin/compiled.js';
import { writeRowConfig } from './bench-config.ts';
import { forkTs, nextMessage, stopAll, stopChild } from './processes.ts';
import { ROWS, type Row, type Via } from './rows.ts';

/**
 * Instructions per request of the proxy, counted by valgrind (callgrind), for A/B comparisons
 * that CPU time cannot settle on a shared VM: two identical proxies differ by ±20 % in µs per
 * request from round to round, while the instruction count of the same code repeats within a
 * few percent (V8 runs single-threaded here, so its compiler and GC threads do not reorder work).
 *
 * The proxy runs under valgrind with counting off; a warm-up load lets V8 optimise; counting is
 * switched on for the measured requests only (callgrind_control), then the total is divided by
 * their number. Instructions are not time (cache misses and syscalls are not in them) but a
 * change that removes work shows as fewer of them, in one run, whatever else the machine does.
 */

const HERE = path.dirname(fileURLToPath(import.meta.url));
const START_TIMEOUT_MS = 300_000;

/** How each process the bench measures is set up; the rows themselves are the bench's (rows.ts). */
const SETUPS: Partial<Record<Via, { logLevel: string; shadow?: boolean } | 'floor'>> = {
  floor: 'floor',
  proxy: { logLevel: 'warn' },
  proxyInfo: { logLevel: 'info' },
  proxyShadow: { logLevel: 'warn', shadow: true },
};
const MEASURABLE = ROWS.filter((row) => SETUPS[row.via] !== undefined);

const USAGE = `Usage: npm run bench:instructions -- [options]

Counts the instructions the proxy executes per request (valgrind --tool=callgrind; apt-get
install -y valgrind), for A/B comparisons of the hot path. Prints one line per row.

Options:
  --rows <keys>       comma-separated, default flag-on: ${MEASURABLE.map((r) => r.key).join(', ')}
  --warm <n>          requests before counting starts (default 5000)
  --requests <n>      requests counted (default 3000)
  -h, --help          show this help

It takes about a minute per row: valgrind runs the proxy some 30-50× slower.`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { rows: { type: 'string' }, warm: { type: 'string' }, requests: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help) return void console.log(USAGE);
  const missing = ['valgrind', 'callgrind_control'].filter((tool) => spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0);
  if (missing.length > 0) throw new Error(`${missing.join(' and ')} not on PATH: apt-get install -y valgrind`);
  const keys = (values.rows ?? 'flag-on').split(',').map((k) => k.trim());
  const unknown = keys.filter((k) => !MEASURABLE.some((r) => r.key === k));
  if (unknown.length > 0) throw new Error(`unknown row ${unknown.join(', ')}; rows: ${MEASURABLE.map((r) => r.key).join(', ')}`);
  const warm = positive(values.warm ?? '5000', '--warm');
  const requests = positive(values.requests ?? '3000', '--requests');

  const upstreamChild = forkTs(path.join(HERE, 'upstream-server.ts'));
  const upstream = await nextMessage<{ url: string }>(upstreamChild, 'the upstream', 30_000);
  console.log(`instructions per request (callgrind, node --single-threaded; ${warm} requests of warm-up, ${requests} counted, 10 at a time)`);
  try {
    for (const row of MEASURABLE.filter((r) => keys.includes(r.key))) {
      const count = await measureRow(row, upstream.url, warm, requests);
      console.log(`  ${row.label.padEnd(82)} ${Math.round(count / requests).toLocaleString('en').padStart(9)} instructions/request`);
    }
  } finally {
    await stopAll();
  }
}

async function measureRow(row: Row, upstreamUrl: string, warm: number, requests: number): Promise<number> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'strangler-instructions-'));
  try {
    const setup = SETUPS[row.via]!;
    const [file, arg] = setup === 'floor' ? [path.join(HERE, 'floor-proxy.ts'), upstreamUrl] : [path.join(HERE, 'proxy-server.ts'), await writeRowConfig(dir, { legacy: upstreamUrl }, setup)];
    const entry = resolveEntry(file);
    const node = [process.execPath, '--single-threaded', ...(entry.compiled ? [] : ['--import', 'tsx']), entry.file, arg];
    const out = path.join(dir, 'callgrind.out');
    const child = spawn(
      'valgrind',
      ['--tool=callgrind', '--smc-check=all-non-file', '--instr-atstart=no', `--callgrind-out-file=${out}`, ...node],
      { stdio: ['ignore', 'ignore', 'ignore', 'ipc'], cwd: path.join(HERE, '..') },
    );
    try {
      const { url } = await nextMessage<{ url: string }>(child, `${row.key} under valgrind`, START_TIMEOUT_MS);
      await load(url + row.path, warm);
      callgrindControl(child, '--instr=on');
      await load(url + row.path, requests);
      callgrindControl(child, '--instr=off');
      callgrindControl(child, '--dump');
    } finally {
      await stopChild(child);
    }
    let total = 0;
    for (const file of (await readdir(dir)).filter((f) => f.startsWith('callgrind.out'))) {
      for (const m of (await readFile(path.join(dir, file), 'utf8')).matchAll(/^totals: (\d+)/gm)) total += Number(m[1]);
    }
    if (total === 0) throw new Error(`${row.key}: callgrind counted nothing (is valgrind able to run node here?)`);
    return total;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function callgrindControl(child: ChildProcess, command: string): void {
  const result = spawnSync('callgrind_control', [command, String(child.pid)], { encoding: 'utf8', timeout: 60_000 });
  if (result.status !== 0) throw new Error(`callgrind_control ${command} failed: ${(result.stderr || result.stdout).trim()}`);
}

/** n GET requests, 10 at a time over keep-alive, each answer read to the end and checked. */
async function load(url: string, n: number): Promise<void> {
  const target = new URL(url);
  const pool = new Pool(target.origin, { connections: 10 });
  let left = n;
  const worker = async () => {
    while (left-- > 0) {
      const res = await pool.request({ path: target.pathname, method: 'GET' });
      await res.body.dump();
      if (res.statusCode !== 200) throw new Error(`GET ${url} answered ${res.statusCode}`);
    }
  };
  try {
    await Promise.all(Array.from({ length: 10 }, worker));
  } finally {
    await pool.close();
  }
}

function positive(text: string, option: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${option} must be a whole number above 0, got "${text}"`);
  return n;
}

main().catch((err: Error) => {
  console.error(`bench:instructions: ${err.message}`);
  process.exitCode = 1;
});
