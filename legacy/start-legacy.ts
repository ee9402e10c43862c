import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { REPO_ROOT } from '../services/shared/repo-root.ts';

/**
 * Starts the Timing PHP monolith on PHP's built-in server: `php legacy/bin/setup.php`, then
 * `php -S host:port legacy/router.php` with PHP_CLI_SERVER_WORKERS workers.
 */

const LEGACY_DIR = join(REPO_ROOT, 'legacy');
const SETUP_SCRIPT = join(LEGACY_DIR, 'bin', 'setup.php');
const ROUTER_SCRIPT = join(LEGACY_DIR, 'router.php');
const PUBLIC_DIR = join(LEGACY_DIR, 'public');

const DEFAULTS = {
  databaseUrl: 'sqlite:var/timing.sqlite',
  host: '127.0.0.1',
  port: 8000,
  workers: 4,
  phpBinary: 'php',
} as const;
const MIN_PHP_VERSION: readonly [number, number] = [8, 1];
const PROBE_TIMEOUT_MS = 5_000;
const SETUP_TIMEOUT_MS = 60_000;
const READY_TIMEOUT_MS = 10_000;
const READY_POLL_INTERVAL_MS = 50;
const STOP_GRACE_MS = 3_000;
const STDERR_TAIL_LINES = 40;

export const PHP_INSTALL_HINT =
  'PHP 8.1+ with pdo_sqlite is required for the demo monolith. Install it: sudo apt-get install -y php-cli php-sqlite3 php-mysql (Debian/Ubuntu) or brew install php (macOS)';

export const LegacyErrorCodes = {
  PHP_MISSING: 'STRANGLER_ERR_PHP_MISSING',
  DATABASE_URL: 'STRANGLER_ERR_LEGACY_DATABASE_URL',
  SETUP_FAILED: 'STRANGLER_ERR_LEGACY_SETUP_FAILED',
  PORT_IN_USE: 'STRANGLER_ERR_LEGACY_PORT_IN_USE',
  EXITED: 'STRANGLER_ERR_LEGACY_EXITED',
  START_TIMEOUT: 'STRANGLER_ERR_LEGACY_START_TIMEOUT',
} as const;
export type LegacyErrorCode = (typeof LegacyErrorCodes)[keyof typeof LegacyErrorCodes];

export class LegacyError extends Error {
  readonly code: LegacyErrorCode;
  constructor(code: LegacyErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'LegacyError';
    this.code = code;
  }
}

export interface StartLegacyOptions {
  /** sqlite:<path> (absolute or relative to the repo root) or mysql://user:pass@host:port/db */
  databaseUrl?: string;
  host?: string;
  /** 0 picks a free port */
  port?: number;
  workers?: number;
  phpBinary?: string;
  log?: (line: string) => void;
}

export interface RunningLegacy {
  url: string;
  port: number;
  stop(): Promise<void>;
}

export type PhpProbe = { ok: true; version: string } | { ok: false; reason: string };

/**
 * Is a usable PHP there? Checks the version (8.1+) and the PDO drivers in `extensions`
 * (default: pdo_sqlite, which the default DATABASE_URL needs).
 */
export async function findPhp(
  opts: { phpBinary?: string; extensions?: readonly string[] } = {},
): Promise<PhpProbe> {
  const php = opts.phpBinary ?? DEFAULTS.phpBinary;
  const extensions = opts.extensions ?? ['pdo_sqlite'];
  let stdout: string;
  try {
    stdout = await run(php, ['-r', 'echo json_encode([PHP_VERSION, get_loaded_extensions()]);'], {
      timeout: PROBE_TIMEOUT_MS,
    });
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    return {
      ok: false,
      reason: e.code === 'ENOENT' ? `'${php}' was not found on PATH` : `'${php} -r' failed: ${e.message}`,
    };
  }
  let version: string;
  let loaded: string[];
  try {
    [version, loaded] = JSON.parse(stdout) as [string, string[]];
  } catch {
    return { ok: false, reason: `'${php}' did not answer like PHP (got: ${stdout.slice(0, 80)})` };
  }
  const [major = 0, minor = 0] = version.split('.').map(Number);
  if (major < MIN_PHP_VERSION[0] || (major === MIN_PHP_VERSION[0] && minor < MIN_PHP_VERSION[1])) {
    return { ok: false, reason: `PHP ${version} is too old (need ${MIN_PHP_VERSION.join('.')}+)` };
  }
  const have = new Set(loaded.map((x) => x.toLowerCase()));
  const missing = extensions.filter((x) => !have.has(x.toLowerCase()));
  if (missing.length > 0) {
    return { ok: false, reason: `PHP ${version} lacks the extension(s) ${missing.join(', ')}` };
  }
  return { ok: true, version };
}

export async function startLegacy(opts: StartLegacyOptions = {}): Promise<RunningLegacy> {
  const databaseUrl = opts.databaseUrl ?? process.env.DATABASE_URL ?? DEFAULTS.databaseUrl;
  const host = opts.host ?? DEFAULTS.host;
  const workers = opts.workers ?? DEFAULTS.workers;
  const php = opts.phpBinary ?? DEFAULTS.phpBinary;
  const log = opts.log ?? (() => {});

  const probe = await findPhp({ phpBinary: php, extensions: [pdoDriverFor(databaseUrl)] });
  if (!probe.ok) {
    throw new LegacyError(LegacyErrorCodes.PHP_MISSING, `${PHP_INSTALL_HINT} (${probe.reason})`);
  }

  const env = { ...process.env, DATABASE_URL: databaseUrl };
  try {
    const out = await run(php, [SETUP_SCRIPT], { env, timeout: SETUP_TIMEOUT_MS });
    for (const line of out.split('\n')) if (line) log(`[legacy setup] ${line}`);
  } catch (err) {
    const stderr = (err as { stderr?: string }).stderr?.trim();
    throw new LegacyError(
      LegacyErrorCodes.SETUP_FAILED,
      `legacy/bin/setup.php failed for DATABASE_URL=${redact(databaseUrl)}: ${stderr || (err as Error).message}`,
      { cause: err },
    );
  }

  const port = opts.port === 0 ? await findFreePort(host) : (opts.port ?? DEFAULTS.port);
  // Otherwise the readiness poll could be answered by whoever already holds the port.
  await assertPortFree(host, port);
  const child = spawn(php, ['-S', `${formatHost(host)}:${port}`, '-t', PUBLIC_DIR, ROUTER_SCRIPT], {
    cwd: REPO_ROOT,
    env: { ...env, PHP_CLI_SERVER_WORKERS: String(workers) },
    stdio: ['ignore', 'pipe', 'pipe'],
    // Own process group: php -S forks its workers, and signalling only the parent orphans them.
    detached: true,
  });
  const stderrTail: string[] = [];
  forwardLines(child, (line) => {
    stderrTail.push(line);
    if (stderrTail.length > STDERR_TAIL_LINES) stderrTail.shift();
  }, log);

  const exited = new Promise<number | null>((resolveExit) => {
    child.once('exit', (code, signal) => resolveExit(code ?? (signal ? null : 0)));
    child.once('error', () => resolveExit(null));
  });
  const killGroup = (signal: NodeJS.Signals) => {
    if (child.pid === undefined) return;
    try {
      process.kill(-child.pid, signal);
    } catch {
      // ESRCH: every process of the group has exited
    }
  };
  const killOnExit = () => killGroup('SIGKILL');
  process.once('exit', killOnExit);

  const url = `http://${formatHost(connectHost(host))}:${port}`;
  try {
    await waitUntilAnswering(`${url}/assets/app.css`, exited, () => stderrTail.join('\n'));
  } catch (err) {
    killGroup('SIGKILL');
    process.removeListener('exit', killOnExit);
    throw err;
  }

  let stopping: Promise<void> | undefined;
  return {
    url,
    port,
    stop() {
      stopping ??= (async () => {
        process.removeListener('exit', killOnExit);
        killGroup('SIGTERM');
        const timer = setTimeout(() => killGroup('SIGKILL'), STOP_GRACE_MS);
        await exited;
        clearTimeout(timer);
        // A worker can outlive the parent by a moment; none may keep the port.
        killGroup('SIGKILL');
      })();
      return stopping;
    },
  };
}

function pdoDriverFor(databaseUrl: string): 'pdo_sqlite' | 'pdo_mysql' {
  if (databaseUrl.startsWith('sqlite:')) return 'pdo_sqlite';
  if (databaseUrl.startsWith('mysql://')) return 'pdo_mysql';
  throw new LegacyError(
    LegacyErrorCodes.DATABASE_URL,
    `DATABASE_URL must be sqlite:<path> or mysql://user:pass@host:port/db, got ${redact(databaseUrl)}`,
  );
}

function redact(databaseUrl: string): string {
  return databaseUrl.replace(/\/\/([^:/@]+):[^@]*@/, '//$1:***@');
}

async function waitUntilAnswering(
  url: string,
  exited: Promise<number | null>,
  stderr: () => string,
): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let exitCode: number | null | undefined;
  void exited.then((code) => {
    exitCode = code;
  });
  for (;;) {
    if (exitCode !== undefined) {
      throw new LegacyError(
        LegacyErrorCodes.EXITED,
        `php -S exited (code ${exitCode}) before answering HTTP: ${stderr() || 'no output'}`,
      );
    }
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(1_000) });
      await res.arrayBuffer();
      return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      throw new LegacyError(
        LegacyErrorCodes.START_TIMEOUT,
        `php -S did not answer ${url} within ${READY_TIMEOUT_MS} ms: ${stderr() || 'no output'}`,
      );
    }
    await Promise.race([new Promise((r) => setTimeout(r, READY_POLL_INTERVAL_MS)), exited]);
  }
}

function forwardLines(child: ChildProcess, onStderr: (line: string) => void, log: (line: string) => void): void {
  if (child.stdout) {
    createInterface({ input: child.stdout }).on('line', (line) => log(`[legacy] ${line}`));
  }
  if (child.stderr) {
    createInterface({ input: child.stderr }).on('line', (line) => {
      onStderr(line);
      log(`[legacy] ${line}`);
    });
  }
}

async function assertPortFree(host: string, port: number): Promise<void> {
  await new Promise<void>((resolveFree, reject) => {
    const server = createServer();
    server.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EADDRINUSE') {
        reject(
          new LegacyError(
            LegacyErrorCodes.PORT_IN_USE,
            `port ${port} on ${host} is already in use: stop what listens there, or pass port 0 to pick a free one`,
            { cause: err },
          ),
        );
      } else {
        // Let php -S try and report its own error.
        resolveFree();
      }
    });
    server.listen(port, host, () => server.close(() => resolveFree()));
  });
}

async function findFreePort(host: string): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolvePort(port));
    });
  });
}

/** A wildcard bind address is reachable through loopback. */
function connectHost(host: string): string {
  if (host === '0.0.0.0') return '127.0.0.1';
  if (host === '::') return '::1';
  return host;
}

function formatHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

function run(
  file: string,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; timeout: number },
): Promise<string> {
  return new Promise((resolveRun, reject) => {
    execFile(file, args, { cwd: REPO_ROOT, env: options.env, timeout: options.timeout }, (err, stdout, stderr) => {
      if (err) {
        reject(Object.assign(err, { stderr }));
        return;
      }
      resolveRun(stdout);
    });
  });
}
