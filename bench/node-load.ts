import http from 'node:http';
import { createHistogram, performance } from 'node:perf_hooks';
import type { LoadResult } from './load.ts';

/**
 * Child process: the fallback load generator. A fixed number of keep-alive connections, each
 * sending the next GET as soon as the previous answer has been read, until the duration is up.
 * Usage (from load.ts): node-load.ts <url> <connections> <seconds> [rate]; the result comes back
 * over IPC. With a rate it is open-loop instead: requests start on a fixed schedule whatever
 * the answers do, and each latency counts from the request's scheduled start, so a stall shows
 * in the tail instead of slowing the load down (no coordinated omission).
 */
const [url, connections, seconds, rate] = [process.argv[2], Number(process.argv[3]), Number(process.argv[4]), Number(process.argv[5] ?? 0)];
const agent = new http.Agent({ keepAlive: true, maxSockets: connections });
const latencies = createHistogram();
let requests = 0;
let errors = 0;

function get(): Promise<number> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { agent }, (res) => {
        res.resume();
        res.once('end', () => resolve(res.statusCode ?? 0));
        res.once('error', reject);
      })
      .once('error', reject);
  });
}

async function runConnection(deadline: number): Promise<void> {
  while (performance.now() < deadline) {
    const start = process.hrtime.bigint();
    try {
      const status = await get();
      if (status >= 400) errors++;
    } catch {
      errors++;
    }
    latencies.record(process.hrtime.bigint() - start);
    requests++;
  }
}

async function runAtRate(deadline: number): Promise<void> {
  const begin = performance.now();
  let issued = 0;
  const inFlight = new Set<Promise<void>>();
  while (performance.now() < deadline) {
    const due = Math.floor(((performance.now() - begin) / 1000) * rate);
    for (; issued < due; issued++) {
      const scheduled = begin + (issued / rate) * 1000;
      const p = get().then(
        (status) => {
          if (status >= 400) errors++;
        },
        () => void errors++,
      ).then(() => {
        latencies.record(Math.max(1, Math.round((performance.now() - scheduled) * 1e6)));
        requests++;
        inFlight.delete(p);
      });
      inFlight.add(p);
    }
    await new Promise((r) => setTimeout(r, 1));
  }
  await Promise.all(inFlight);
}

const started = performance.now();
if (rate > 0) await runAtRate(started + seconds * 1000);
else await Promise.all(Array.from({ length: connections }, () => runConnection(started + seconds * 1000)));
const elapsed = (performance.now() - started) / 1000;
agent.destroy();
const result: LoadResult = {
  requests,
  seconds: elapsed,
  rps: requests / elapsed,
  p50Ms: latencies.percentile(50) / 1e6,
  p99Ms: latencies.percentile(99) / 1e6,
  errors,
};
process.send!(result, () => process.exit(0));
