import http from 'node:http';
import t from 'tap';
import { createLoadGenerator, formatMissing, parseWrkOutput } from '../../bench/load.ts';
import { median } from '../../bench/report.ts';

/**
 * Regression: on a slow machine wrk prints a latency of a second or more as `1.09s ` (the unit
 * padded to two characters) and parseWrkOutput threw "unexpected wrk output", killing
 * `npm run bench` after minutes of runs. Samples below are wrk 4.1.0 (Debian) output captured
 * verbatim, trailing spaces included (JSON strings, so no editor trims them).
 */

// wrk -t1 -c4 -d4s --latency against a server answering after 1.0–1.2 s
const SECONDS = "Running 4s test @ http://127.0.0.1:18741/\n  1 threads and 4 connections\n  Thread Stats   Avg      Stdev     Max   +/- Stdev\n    Latency     1.12s    58.09ms   1.19s    50.00%\n    Req/Sec    11.29     12.87    30.00     71.43%\n  Latency Distribution\n     50%    1.15s \n     75%    1.17s \n     90%    1.18s \n     99%    1.19s \n  12 requests in 4.04s, 1.45KB read\nRequests/sec:      2.97\nTransfer/sec:     368.06B\n";
// wrk -t1 -c2 -d2s --latency against a server answering at once
const MILLISECONDS = "Running 2s test @ http://127.0.0.1:18742/\n  1 threads and 2 connections\n  Thread Stats   Avg      Stdev     Max   +/- Stdev\n    Latency     1.71ms    1.55ms  19.77ms   93.22%\n    Req/Sec     1.32k   187.45     1.61k    66.67%\n  Latency Distribution\n     50%    1.33ms\n     75%    1.48ms\n     90%    2.58ms\n     99%    9.09ms\n  2761 requests in 2.10s, 334.34KB read\nRequests/sec:   1314.21\nTransfer/sec:    159.14KB\n";
// wrk -t1 -c2 -d1s --latency against a server answering every fourth request 503
const MICROSECONDS_AND_NON_2XX = "Running 1s test @ http://127.0.0.1:18733/\n  1 threads and 2 connections\n  Thread Stats   Avg      Stdev     Max   +/- Stdev\n    Latency   400.03us    0.90ms  11.26ms   91.26%\n    Req/Sec    15.50k     6.24k   22.67k    70.00%\n  Latency Distribution\n     50%   84.00us\n     75%  214.00us\n     90%    1.10ms\n     99%    4.36ms\n  15471 requests in 1.00s, 1.88MB read\n  Non-2xx or 3xx responses: 3868\nRequests/sec:  15407.71\nTransfer/sec:      1.87MB\n";
// wrk -t1 -c4 -d3s --timeout 1s --latency against the 1.0–1.2 s server: every answer too late
const ALL_TIMED_OUT = "Running 3s test @ http://127.0.0.1:18731/\n  1 threads and 4 connections\n  Thread Stats   Avg      Stdev     Max   +/- Stdev\n    Latency     0.00us    0.00us   0.00us    -nan%\n    Req/Sec     7.67      9.87    19.00     66.67%\n  Latency Distribution\n     50%    0.00us\n     75%    0.00us\n     90%    0.00us\n     99%    0.00us\n  8 requests in 3.01s, 0.97KB read\n  Socket errors: connect 0, read 0, write 0, timeout 8\nRequests/sec:      2.65\nTransfer/sec:     329.09B\n";

t.test('latencies of a second or more, with the trailing space wrk prints', async (t) => {
  t.match(SECONDS, /99%\s+1\.19s \n/, 'the sample has the trailing space');
  const result = parseWrkOutput(SECONDS);
  t.same(result, { requests: 12, seconds: 4.04, rps: 2.97, p50Ms: 1150, p99Ms: 1190, errors: 0 });
});

t.test('milliseconds and microseconds; non-2xx answers are errors', async (t) => {
  t.same(parseWrkOutput(MILLISECONDS), { requests: 2761, seconds: 2.1, rps: 1314.21, p50Ms: 1.33, p99Ms: 9.09, errors: 0 });
  const mixed = parseWrkOutput(MICROSECONDS_AND_NON_2XX);
  t.equal(mixed.p50Ms, 0.084);
  t.equal(mixed.p99Ms, 4.36);
  t.equal(mixed.errors, 3868);
  t.equal(mixed.seconds, 1);
});

t.test("minutes and hours, as wrk's units.c prints them past 60 s (--timeout above a minute)", async (t) => {
  const minutes = SECONDS.replace('50%    1.15s ', '50%    1.50m ').replace('99%    1.19s ', '99%    1.02h ');
  const result = parseWrkOutput(minutes);
  t.equal(result.p50Ms, 90_000);
  t.equal(result.p99Ms, 3_672_000);
  t.notOk(result.missing);
});

t.test('whitespace of any kind around the figures', async (t) => {
  const spaced = MILLISECONDS.replace(/\n/g, ' \r\n').replace('99%    9.09ms', '\t99%\t9.09 ms');
  const result = parseWrkOutput(spaced);
  t.equal(result.p99Ms, 9.09);
  t.equal(result.rps, 1314.21);
  t.notOk(result.missing);
});

t.test('a figure wrk did not give is reported missing with its text, not thrown', async (t) => {
  const noP99 = MILLISECONDS.replace(/^.*99%.*\n/m, '');
  const result = parseWrkOutput(noP99);
  t.equal(result.requests, 2761, 'the other figures are kept');
  t.equal(result.p50Ms, 1.33);
  t.ok(Number.isNaN(result.p99Ms));
  t.same(result.missing?.figures, ['p99 latency (no "99%" line; run wrk with --latency)']);
  t.equal(result.missing?.output, noP99);
  const shown = formatMissing(result.missing!, 'wrk');
  t.match(shown, 'wrk: reported as missing: p99 latency');
  t.match(shown, '  |   2761 requests in 2.10s, 334.34KB read');

  const garbage = parseWrkOutput('unable to connect to 127.0.0.1:1 Connection refused\n');
  t.equal(garbage.missing?.figures.length, 5, 'requests, duration, req/s, p50, p99');
  t.equal(garbage.errors, 0);
});

t.test("when every answer came after wrk's --timeout, its 0.00us latencies are missing, not zero", async (t) => {
  const result = parseWrkOutput(ALL_TIMED_OUT);
  t.equal(result.requests, 8);
  t.equal(result.errors, 8);
  t.ok(Number.isNaN(result.p50Ms) && Number.isNaN(result.p99Ms));
  t.match(result.missing?.figures, [/no answer within wrk's --timeout: 8 timeouts of 8 requests/, /p99/]);
});

t.test('a round with a missing figure does not poison the median of the others', async (t) => {
  t.equal(median([3, NaN, 1]), 2);
  t.ok(Number.isNaN(median([NaN])));
});

const wrkOnPath = createLoadGenerator().description.startsWith('wrk');
t.test('real wrk against an upstream slower than a second', { skip: wrkOnPath ? false : 'wrk not on PATH (apt-get install -y wrk)' }, async (t) => {
  const server = http.createServer((req, res) => {
    const timer = setTimeout(() => res.end('{"ok":true}'), 1000 + Math.random() * 150);
    res.on('close', () => clearTimeout(timer));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const { port } = server.address() as { port: number };
  const result = await createLoadGenerator().run(`http://127.0.0.1:${port}/`, { connections: 4, durationS: 3 });
  t.notOk(result.missing, 'every figure was read');
  t.ok(result.requests >= 4, `${result.requests} requests`);
  t.ok(result.p99Ms >= 1000, `p99 ${result.p99Ms} ms, printed by wrk in seconds`);
});
