import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { loadConfig } from '../../proxy/config/load-config.ts';
import { StranglerError } from '../../proxy/errors.ts';

/**
 * Bounded, seeded fuzz of the config loader: about 2 000 damaged routes.yaml files, each either
 * loads or is refused with a catalogued error (STRANGLER_ERR_…), never anything else, and never
 * slowly. The seed is fixed so a failure reproduces; CONFIG_FUZZ_SEED=<n> explores another run.
 */
const SEED = Number(process.env.CONFIG_FUZZ_SEED ?? 14);
/** on top of every 4th truncation of each base file (about 1 100) */
const MUTATED = 1000;
/** per file, with room for a loaded CI machine; deep or shallow-but-hostile files used to take seconds */
const SLOW_MS = 2000;

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

// The repository's routes.yaml plus two files in the shapes the config tests use, so every
// section (limits, breaker, admin, rollout, shadow with a sandbox, compare rules) is damaged.
const BASES: Record<string, string> = {
  'routes.yaml': readFileSync(path.join(ROOT, 'routes.yaml'), 'utf8'),
  'full.yaml': `listen: 127.0.0.1:0
legacy: http://127.0.0.1:8000
services:
  rooms: http://127.0.0.1:3101
  rooms-sandbox: { url: http://127.0.0.1:3102, sandbox: true }
flags:
  file: flags.json
context:
  userId: { header: x-user-id }
  sessionId: { cookie: PHPSESSID }
  properties:
    tenant: { header: x-tenant }
testers:
  secret: \${TESTER_SECRET:-0123456789abcdef0123}
upstreamTimeout: 30s
targetHeader: true
log:
  level: info
breaker:
  failures: 5
  openFor: 10s
limits:
  maxConcurrent: 1000
  rate: 0
  maxEventLoopDelay: 200ms
  retryAfter: 2s
admin:
  listen: 127.0.0.1:0
  operatorToken: operator-token-0123456789
  readToken: read-token-0123456789ab
comparisons:
  database: sqlite:var/strangler.sqlite
  retention: 7d
  maxRows: 100000
  captureLimit: 64kb
  redact:
    fields: [password, token]
    headers: [x-api-key]
recording:
  file: var/recordings/traffic.jsonl
  maxBody: 64kb
routes:
  - name: rooms-list
    match: GET /api/rooms
    service: rooms
    stage: shadow
    record: 10%
    shadow:
      sample: 50%
      timeout: 2s
      writes: rooms-sandbox
    compare:
      ignore: [$.generated_at, $.data[*].created_at]
      unordered: [$.data]
      tolerance: { $.price: 0.01 }
  - name: rooms-get
    match: GET,HEAD /api/rooms/:id
    service: rooms
    limit: { concurrent: 200, rate: 500/s }
    rollout: { steps: [1, 5, 25, 50, 100], interval: 10m, minRequests: 100, maxErrorRate: 0.5%, maxP99: 1.5x, minParity: 99% }
  - name: rooms-join
    match: POST /api/rooms/:id/join
    service: rooms
    stage: cutover
`,
  'minimal.yaml': 'legacy: http://127.0.0.1:8000\nservices:\n  rooms: http://127.0.0.1:3101\nroutes:\n  - name: rooms-get\n    match: GET /api/rooms/:id\n    service: rooms\n',
};

/** mulberry32: small, fast, and the same sequence on every machine */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = a;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

interface Case {
  what: string;
  bytes: Buffer;
}

function* cases(seed: number): Generator<Case> {
  const random = prng(seed);
  const int = (n: number) => Math.floor(random() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)];
  const utf8 = (s: string) => Buffer.from(s, 'utf8');

  // every 4th truncation of each base: what a reload sees while the file is being written
  for (const [name, text] of Object.entries(BASES)) {
    const bytes = utf8(text);
    for (let n = 0; n < bytes.length; n += 4) yield { what: `${name} cut at byte ${n}`, bytes: bytes.subarray(0, n) };
  }

  const nasty = ['\0', '\t', '\r', '\ufeff', ':', ': ', '- ', '[', ']', '{', '}', '&a ', '*a', '!', '!!binary ', '|', '>', "'", '"', '#', '%', '@', '`', '?', ',', '\\', '${', '${X:-', '\n', '\u2028', '\uffff'];
  const values = ['[]', '{}', '~', 'null', 'true', '-1', '1e400', '0x1F', '.nan', "''", '""', '[1, [2, {a: b}]]', '{url: 1}', '- a\n- b', '*undefined', '!!js/function "x"', '"\\u0000"', '&x [*x]', '<<: {a: 1}'];
  const mutations: Array<[string, (lines: string[], text: string) => string | Buffer]> = [
    ['byte flip', (_l, text) => {
      const b = utf8(text);
      for (let i = 1 + int(4); i > 0; i--) b[int(b.length)] = int(256);
      return b;
    }],
    ['nasty insert', (_l, text) => {
      const at = int(text.length + 1);
      return text.slice(0, at) + pick(nasty) + text.slice(at);
    }],
    ['flood of stray tokens', (_l, text) => {
      const at = int(text.length + 1);
      return text.slice(0, at) + pick([': ', ']', '}', '- ', ', ', '? ', '&a ', '!x ']).repeat(pick([100, 10_000, 60_000])) + text.slice(at);
    }],
    ['line deleted', (lines) => lines.filter((_x, i) => i !== int(lines.length)).join('\n')],
    ['line duplicated', (lines) => {
      const i = int(lines.length);
      return [...lines.slice(0, i + 1), lines[i], ...lines.slice(i + 1)].join('\n');
    }],
    ['lines swapped', (lines) => {
      const [i, j] = [int(lines.length), int(lines.length)];
      [lines[i], lines[j]] = [lines[j], lines[i]];
      return lines.join('\n');
    }],
    ['line re-indented', (lines) => {
      const i = int(lines.length);
      lines[i] = pick(['', ' ', '   ', '\t', '        ']) + lines[i].trimStart();
      return lines.join('\n');
    }],
    ['value of the wrong type', (lines) => {
      const i = int(lines.length);
      lines[i] = lines[i].replace(/:\s.*$/, `: ${pick(values)}`);
      return lines.join('\n');
    }],
    ['deep nesting', (lines) => {
      const n = pick([33, 100, 1000, 5000, 10_000, 50_000]);
      const i = int(lines.length);
      const kind = int(4);
      const deep =
        kind === 0 ? '['.repeat(n) + ']'.repeat(n)
        : kind === 1 ? '{a: '.repeat(n) + '1' + '}'.repeat(n)
        : kind === 2 ? '['.repeat(n)
        : '\n' + Array.from({ length: Math.min(n, 700) }, (_x, d) => `${' '.repeat(d + 4)}k${d}:`).join('\n') + ' 1';
      lines[i] = lines[i].replace(/:\s.*$|$/, `: ${deep}`);
      return lines.join('\n');
    }],
    ['deep block sequence', (lines) => {
      const n = pick([40, 400, 4000]);
      return `${lines.join('\n')}\nextra:\n${'- '.repeat(n)}x\n`;
    }],
    ['huge scalar', (lines) => {
      const i = int(lines.length);
      const size = pick([10_000, 200_000, 256 * 1024, 1024 * 1024]);
      lines[i] = lines[i].replace(/:\s.*$|$/, `: ${'x'.repeat(size)}`);
      return lines.join('\n');
    }],
    ['billion laughs', (lines) => {
      const laughs = ['l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]', ...Array.from({ length: 9 }, (_x, k) => `l${k + 1}: &l${k + 1} [${Array(10).fill(`*l${k}`).join(', ')}]`)];
      const i = int(lines.length);
      const target = pick(['*l9', '{ignore: *l9}', '[*l9]', '{fields: *l9}']);
      lines[i] = lines[i].replace(/:\s.*$/, `: ${target}`);
      return [...laughs, ...lines].join('\n');
    }],
    ['anchors and aliases', (lines) => {
      const i = int(lines.length);
      const j = int(lines.length);
      lines[i] = lines[i].replace(/:\s(.*)$/, ': &a $1');
      lines[j] = lines[j].replace(/:\s.*$/, `: ${pick(['*a', '*a\n    <<: *a', '[*a, *a]', '*b'])}`);
      return lines.join('\n');
    }],
    ['several documents', (lines, text) => `${text}\n---\n${lines.slice(0, int(lines.length)).join('\n')}\n...\n%YAML 1.2\n`],
    ['crlf and tabs', (_l, text) => text.replace(/\n/g, pick(['\r\n', '\r', '\n\t'])).replace(/ {2}/g, () => (random() < 0.2 ? '\t' : '  '))],
  ];
  for (let i = 0; i < MUTATED; i++) {
    const [name, text] = pick(Object.entries(BASES));
    const steps: string[] = [];
    let current: string | Buffer = text;
    for (let k = 1 + int(3); k > 0; k--) {
      const [what, mutate] = pick(mutations);
      steps.push(what);
      current = mutate(current.toString('utf8').split('\n'), current.toString('utf8'));
    }
    yield { what: `${name}: ${steps.join(', ')} (#${i})`, bytes: typeof current === 'string' ? utf8(current) : current };
  }
}

t.test(`about 2 000 damaged config files load or are refused with a catalogued error (seed ${SEED})`, async (t) => {
  const dir = t.testdir();
  const file = path.join(dir, 'routes.yaml');
  const failures: string[] = [];
  const slow: string[] = [];
  let loaded = 0;
  let refused = 0;
  let total = 0;
  const started = performance.now();
  for (const c of cases(SEED)) {
    total++;
    await writeFile(file, c.bytes);
    const t0 = performance.now();
    try {
      await loadConfig(file, {});
      loaded++;
    } catch (err) {
      if (err instanceof StranglerError && /^STRANGLER_ERR_/.test(err.code) && err.message.includes(file)) refused++;
      else failures.push(`${c.what}: ${err instanceof Error ? (err.stack ?? err.message).split('\n').slice(0, 4).join(' | ') : String(err)}`);
    }
    const ms = performance.now() - t0;
    if (ms > SLOW_MS) slow.push(`${c.what}: ${Math.round(ms)} ms`);
  }
  const seconds = (performance.now() - started) / 1000;
  t.comment(`${total} files in ${seconds.toFixed(1)} s: ${loaded} loaded, ${refused} refused`);
  t.ok(total >= 1900, `about 2 000 files (${total})`);
  t.same(failures.slice(0, 10), [], `every file loads or is refused with STRANGLER_ERR_… naming the file (${failures.length} did not)`);
  t.same(slow.slice(0, 10), [], `no file takes over ${SLOW_MS} ms (${slow.length} did)`);
  t.ok(loaded > 50 && refused > 500, 'the mutations reach both outcomes, so both paths are exercised');
});
