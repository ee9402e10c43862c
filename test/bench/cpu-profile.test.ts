import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { partOf, summarizeProfile, type CpuProfile } from '../../bench/cpu-profile.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

const frame = (id: number, functionName: string, url: string) => ({ id, callFrame: { functionName, url, lineNumber: 0 } });

t.test('each sample is charged the time until the next one, to the frame it caught', async (t) => {
  const profile: CpuProfile = {
    nodes: [
      frame(1, '(root)', ''),
      frame(2, 'match', `file://${ROOT}/proxy/routing/route-table.ts`),
      frame(3, 'writev', ''),
      frame(4, '(idle)', ''),
      frame(5, '(garbage collector)', ''),
    ],
    // 2 ran 100 µs, 3 ran 300 µs, 4 waited 500 µs, 5 ran 100 µs; the last sample has no end
    samples: [2, 3, 4, 5, 2],
    timeDeltas: [0, 100, 300, 500, 100],
    startTime: 0,
    endTime: 1000,
  };
  const summary = summarizeProfile(profile);
  t.equal(summary.totalMs, 1);
  t.equal(summary.busyMs, 0.5, 'idle time is not busy time');
  const ms = (name: string) => summary.functions.find((f) => f.name === name)?.selfMs;
  t.equal(ms('match'), 0.1);
  t.equal(ms('writev'), 0.3);
  t.equal(ms('(garbage collector)'), 0.1);
  t.same(summary.functions.find((f) => f.name === 'match')?.where, 'proxy/routing/route-table.ts', 'our sources by file, without tsx\'s shifted lines');
  t.equal(summary.parts[0].part, 'idle (waiting for I/O)', 'parts sorted by self time');
});

t.test('frames are put in the part of the stack they belong to', async (t) => {
  t.equal(partOf(`file://${ROOT}/node_modules/undici/lib/dispatcher/client-h1.js`, 'writeH1'), 'undici');
  t.equal(partOf(`file://${ROOT}/node_modules/@fastify/reply-from/index.js`, 'from'), 'node_modules: @fastify/reply-from');
  t.equal(partOf('node:_http_server', 'parserOnIncoming'), 'node:http');
  t.equal(partOf('node:net', 'onStreamRead'), 'node:net (sockets)');
  t.equal(partOf('node:internal/timers', 'processTimers'), 'other Node internals');
  t.equal(partOf('', 'writeLatin1String'), 'native calls from JS (socket writes, string encoding, builtins)');
  t.equal(partOf(`file://${ROOT}/proxy/shadow/shadow-runner.ts`, 'start'), 'strangler: proxy/shadow');
  t.equal(partOf(`file://${ROOT}/proxy/server.ts`, 'handle'), 'strangler: proxy/server.ts');
  t.equal(partOf(`file://${ROOT}/dist/proxy/forward/forwarder.js`, 'onHeaders'), 'strangler: proxy/forward', 'the compiled copy under its source folder');
  t.equal(partOf(`file://${ROOT}/dist/proxy/server.js`, 'handle'), 'strangler: proxy/server.ts', 'and a top-level module under its source name');
});
