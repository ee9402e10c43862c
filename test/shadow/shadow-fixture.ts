import type http from 'node:http';
import type { Test } from 'tap';
import { eventually, startUpstream } from '../helpers/http.ts';
import { startTestProxy } from '../helpers/proxy.ts';

type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => void;

/** An upstream answering JSON built from the request, with extra response headers. */
export function json(body: (req: http.IncomingMessage) => unknown, headers: Record<string, string> = {}): Handler {
  return (req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json', ...headers });
      res.end(JSON.stringify(body(req)));
    });
  };
}

/**
 * A proxy with one shadow route `rooms` (GET /api/rooms/:id) over a legacy and a rooms upstream,
 * no noise learning unless `shadow` sets its keys; `route` adds YAML keys to the route, `comparisons` to comparisons:.
 */
export async function startShadowFixture(t: Test, opts: { legacy: Handler; candidate: Handler; route?: string; comparisons?: string; shadow?: string }) {
  const legacy = await startUpstream('legacy', opts.legacy);
  const rooms = await startUpstream('rooms', opts.candidate);
  const dir = t.testdir();
  const proxy = await startTestProxy({
    dir,
    legacy: legacy.url,
    services: { rooms: rooms.url },
    extra: `comparisons:\n  database: sqlite:comparisons.sqlite\n${opts.comparisons ?? ''}`,
    routes: `
  - name: rooms
    match: GET /api/rooms/:id
    service: rooms
    stage: shadow
    shadow: { ${opts.shadow ?? 'noiseWarmup: 0, noiseSample: 0%'} }
${opts.route ?? ''}`,
  });
  t.teardown(async () => {
    await proxy.close();
    await Promise.all([legacy.close(), rooms.close()]);
  });
  const store = proxy.proxy.store!;
  /** outcome → count once every copy is compared and written */
  const outcomes = async () => {
    await proxy.proxy.state.shadow.idle();
    await store.flush();
    const counts: Record<string, number> = {};
    for (const c of await store.counts({})) counts[c.outcome] = (counts[c.outcome] ?? 0) + c.n;
    return counts;
  };
  /** the kept comparisons, newest first, once at least n are written */
  const stored = async (n: number) => {
    await proxy.proxy.state.shadow.idle();
    return eventually(async () => {
      await store.flush();
      const rows = await store.list({ limit: 100 });
      return rows.length >= n ? rows : undefined;
    });
  };
  return { dir, legacy, rooms, proxy, store, outcomes, stored };
}
