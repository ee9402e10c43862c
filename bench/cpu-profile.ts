import type { ChildProcess } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { nextMessage } from './ipc.ts';

/**
 * CPU profiles of a bench child over exactly the window the parent asks for (not its start-up,
 * which `node --cpu-prof` would include): the child samples itself through the inspector when
 * told to start, and writes a .cpuprofile (Chrome DevTools, speedscope) when told to stop. Then
 * where the time went: self time by function and by part of the stack.
 */

const REQUEST = 'cpu-profile';
const IDLE = 'idle (waiting for I/O)';
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
/** µs between samples: V8's default of 1 ms would leave a 10 s run with too few per function */
const SAMPLING_INTERVAL_US = 100;

type Command = { type: typeof REQUEST; action: 'start' } | { type: typeof REQUEST; action: 'stop'; file: string };

/** In the child: start and stop sampling when the parent says so. */
export function answerCpuProfile(): void {
  let session: Session | undefined;
  process.on('message', (message: unknown) => {
    const command = message as Partial<Command> | null;
    if (command?.type !== REQUEST) return;
    void (async () => {
      if (command.action === 'start') {
        session = new Session();
        session.connect();
        await session.post('Profiler.enable');
        await session.post('Profiler.setSamplingInterval', { interval: SAMPLING_INTERVAL_US });
        await session.post('Profiler.start');
        process.send!({ type: REQUEST, started: true });
      } else if (command.action === 'stop' && session && command.file) {
        const { profile } = await session.post('Profiler.stop');
        session.disconnect();
        session = undefined;
        await writeFile(command.file, JSON.stringify(profile));
        process.send!({ type: REQUEST, file: command.file });
      }
    })();
  });
}

/** In the parent: the child starts sampling. */
export async function startCpuProfile(child: ChildProcess): Promise<void> {
  const reply = nextMessage(child, 'the bench child (cpu profile start)', 5000);
  child.send({ type: REQUEST, action: 'start' });
  await reply;
}

/** In the parent: the child stops sampling and writes the profile to file. */
export async function stopCpuProfile(child: ChildProcess, file: string): Promise<void> {
  const reply = nextMessage(child, 'the bench child (cpu profile stop)', 30_000);
  child.send({ type: REQUEST, action: 'stop', file });
  await reply;
}

interface CpuProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

export interface CpuProfile {
  nodes: CpuProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

export interface ProfileSummary {
  totalMs: number;
  /** sampled time not spent waiting for I/O */
  busyMs: number;
  functions: Array<{ name: string; where: string; part: string; selfMs: number }>;
  parts: Array<{ part: string; selfMs: number }>;
}

/** Which part of the stack a frame belongs to, from its script URL. */
export function partOf(url: string, functionName: string): string {
  if (functionName === '(garbage collector)') return 'garbage collection';
  if (functionName === '(idle)') return IDLE;
  if (functionName === '(program)' || functionName === '(root)') return 'V8 itself (program: compiling, inline caches, runtime)';
  // a named frame without a script: a native binding or builtin JS calls, e.g. writev, writeLatin1String
  if (url === '') return 'native calls from JS (socket writes, string encoding, builtins)';
  if (url.includes('/node_modules/undici/')) return 'undici';
  if (url.includes('/node_modules/')) {
    const name = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url)?.[1];
    return `node_modules: ${name ?? '?'}`;
  }
  if (url.startsWith('node:_http') || url.startsWith('node:http') || url.startsWith('node:internal/http')) return 'node:http';
  if (url.startsWith('node:net') || url.startsWith('node:internal/stream_base') || url.startsWith('node:internal/net')) return 'node:net (sockets)';
  if (url.startsWith('node:')) return 'other Node internals';
  // the compiled copy (dist/proxy/…) is filed under its source's folder (proxy/…)
  if (url.startsWith(`file://${ROOT}/`)) {
    const relative = url.slice(`file://${ROOT}/`.length);
    const source = relative.startsWith('dist/') ? relative.slice('dist/'.length).replace(/\.js$/, '.ts') : relative;
    return `strangler: ${source.split('/').slice(0, 2).join('/')}`;
  }
  return 'other';
}

/** Self time per function and per part, from the samples (each sample's delta goes to its leaf frame). */
export function summarizeProfile(profile: CpuProfile): ProfileSummary {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  for (let i = 0; i < profile.samples.length; i++) {
    // timeDeltas[i] is the time before sample i; it belongs to the frame sampled at i - 1
    const delta = profile.timeDeltas[i + 1] ?? 0;
    selfUs.set(profile.samples[i], (selfUs.get(profile.samples[i]) ?? 0) + delta);
  }
  const functions = new Map<string, { name: string; where: string; part: string; selfMs: number }>();
  const parts = new Map<string, number>();
  let totalUs = 0;
  for (const [id, us] of selfUs) {
    const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
    const name = functionName || '(anonymous)';
    // our TypeScript run through tsx (no build) lands on other lines than its source: file only
    const relative = url.replace(`file://${ROOT}/`, '');
    const throughTsx = relative !== url && relative.endsWith('.ts') && !relative.includes('node_modules/');
    const where = !url ? '' : throughTsx ? relative : `${relative}:${lineNumber + 1}`;
    const part = partOf(url, functionName);
    const key = `${name}\u0000${where}`;
    const entry = functions.get(key) ?? { name, where, part, selfMs: 0 };
    entry.selfMs += us / 1000;
    functions.set(key, entry);
    parts.set(part, (parts.get(part) ?? 0) + us / 1000);
    totalUs += us;
  }
  const idleMs = parts.get(IDLE) ?? 0;
  return {
    totalMs: totalUs / 1000,
    busyMs: totalUs / 1000 - idleMs,
    functions: [...functions.values()].sort((a, b) => b.selfMs - a.selfMs),
    parts: [...parts].map(([part, selfMs]) => ({ part, selfMs })).sort((a, b) => b.selfMs - a.selfMs),
  };
}

/** The summary as text; shares are of the busy time (idle left out), so they add up to what the CPU did. */
export function formatProfile(summary: ProfileSummary, top: number): string {
  const pct = (ms: number) => `${((ms / summary.busyMs) * 100).toFixed(1).padStart(5)} %`;
  const lines = [`busy ${summary.busyMs.toFixed(0)} ms of ${summary.totalMs.toFixed(0)} ms sampled (shares are of the busy time)`, '', 'by part of the stack (self time):'];
  for (const p of summary.parts) if (p.part !== IDLE && p.selfMs / summary.busyMs >= 0.001) lines.push(`  ${pct(p.selfMs)}  ${p.part}`);
  lines.push('', `top ${top} functions by self time:`);
  for (const f of summary.functions.filter((f) => f.part !== IDLE).slice(0, top)) lines.push(`  ${pct(f.selfMs)}  ${f.name}${f.where ? `  (${f.where})` : ''}`);
  return lines.join('\n');
}
