import { execFileSync, fork, spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import net from 'node:net';
import { isBuildFresh, resolveEntry } from '../bin/compiled.js';

export { nextMessage } from './ipc.ts';

const STOP_GRACE_MS = 3000;

/** Every process the benchmark started and that has not exited yet: stopAll() ends them. */
const children = new Set<ChildProcess>();

function track(child: ChildProcess): ChildProcess {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

/**
 * Runs a TypeScript entry point in its own Node process, so its CPU time is its own: its compiled
 * copy under dist/ when the build is fresh, as `strangler` runs (bin/compiled.js), else the source
 * through tsx. stdout goes to /dev/null (where the proxy's access log lands), stderr is shown,
 * results come over IPC.
 */
export function forkTs(file: string, args: string[] = [], nodeOptions: string[] = []): ChildProcess {
  const entry = resolveEntry(file);
  const execArgv = entry.compiled ? nodeOptions : ['--import', 'tsx', ...nodeOptions];
  return track(fork(entry.file, args, { execArgv, stdio: ['ignore', 'ignore', 'inherit', 'ipc'] }));
}

/** How the bench's processes run, for the header of every report. */
export function describeCode(): string {
  return isBuildFresh()
    ? 'compiled JavaScript from dist/ (npm run build), as strangler runs'
    : 'TypeScript through tsx: dist/ is missing or older than the sources (npm run build compiles it; tsx adds a loader thread and ~20-40 MB)';
}

/** Starts a non-Node program (nginx) that stopAll() will end too. */
export function spawnTracked(command: string, args: string[]): ChildProcess {
  return track(spawn(command, args, { stdio: ['ignore', 'ignore', 'inherit'] }));
}

/** CPUs (taskset list, e.g. "0") the load generators run on; undefined: wherever the kernel puts them. */
let loadCpus: string | undefined;

export function setLoadCpus(cpus: string | undefined): void {
  loadCpus = cpus;
}

/** Binds every thread of a running process to these CPUs (taskset list, e.g. "1"). */
export function pinProcess(pid: number, cpus: string): void {
  execFileSync('taskset', ['-a', '-p', '-c', cpus, String(pid)], { stdio: 'ignore' });
}

/** Runs a command to completion and returns its stdout; killed when it outlives timeoutMs. */
export function runCommand(command: string, args: string[], timeoutMs: number): Promise<string> {
  const [file, argv] = loadCpus === undefined ? [command, args] : ['taskset', ['-c', loadCpus, command, ...args]];
  const child = track(spawn(file, argv, { stdio: ['ignore', 'pipe', 'inherit'] }));
  let stdout = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${command} still running after ${timeoutMs} ms, killed`));
    }, timeoutMs);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(stdout);
      else reject(new Error(`${command} ${args.join(' ')} failed (${signal ?? `exit ${code}`})`));
    });
  });
}

/** SIGTERM, then SIGKILL if the child is still there after a grace period. */
export async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
  await exited;
  clearTimeout(timer);
}

export async function stopAll(): Promise<void> {
  await Promise.all([...children].map(stopChild));
}

let ticksPerSecond: number | undefined;

/** USER_HZ: 100 on every mainstream Linux, asked of getconf in case this one differs. */
function readTicksPerSecond(): number {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
}

/** utime + stime of a process so far, in microseconds (/proc/<pid>/stat, clock-tick resolution). */
export async function readCpuMicros(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) may hold spaces and parentheses: count fields after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  ticksPerSecond ??= readTicksPerSecond();
  return (ticks / ticksPerSecond) * 1e6;
}

/** Resident set size of a process now, in bytes (/proc/<pid>/status VmRSS). */
export async function readRssBytes(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status);
  if (!kb) throw new Error(`no VmRSS in /proc/${pid}/status`);
  return Number(kb[1]) * 1024;
}

/** Direct children of a process (nginx's worker, the proxy's cluster workers). */
export async function childPids(pid: number): Promise<number[]> {
  try {
    const text = await readFile(`/proc/${pid}/task/${pid}/children`, 'utf8');
    return text.trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** CPU of a process and its direct children together, in microseconds. */
export async function readTreeCpuMicros(pid: number): Promise<number> {
  const pids = [pid, ...(await childPids(pid))];
  const each = await Promise.all(pids.map((p) => readCpuMicros(p).catch(() => 0)));
  return each.reduce((a, b) => a + b, 0);
}

/** RSS of a process and its direct children together, in bytes. */
export async function readTreeRssBytes(pid: number): Promise<number> {
  const pids = [pid, ...(await childPids(pid))];
  const each = await Promise.all(pids.map((p) => readRssBytes(p).catch(() => 0)));
  return each.reduce((a, b) => a + b, 0);
}

export function isListening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1', () => {
      socket.destroy();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
  });
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}
