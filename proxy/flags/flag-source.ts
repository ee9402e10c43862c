import type { EventEmitter } from 'node:events';
import { access, mkdir } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';
import type { Logger } from 'pino';
import { UnleashEvents, type Context } from 'unleash-client';
import { RouteFlagClient } from './route-flag-client.ts';
import type { FlagsConfig } from '../config/schema.ts';
import { FlagsFileRepository } from './flags-file-repository.ts';
import { applyShare, emptyFlags, readFlagsFile, writeFlagsFile } from './flags-file.ts';

/** The one question the proxy asks per request. Unknown flag or no flags yet → false (legacy). */
export interface FlagSource {
  /** context: built for this request (buildContext); it may be completed in place */
  isEnabled(flag: string, context: Context): boolean;
  /** the control plane cannot be reached: flags are the last known ones (server mode) */
  degraded(): boolean;
  close(): void;
}

export interface FlagSourceOptions {
  logger: Logger;
  /** flags the routes use: in local mode, missing ones are added at 0 % so shifting them is one edit */
  flagNames: readonly string[];
  /** how long to wait for a first set of flags from a server before serving with none */
  readyTimeoutMs?: number;
}

export async function createFlagSource(flags: FlagsConfig, options: FlagSourceOptions): Promise<FlagSource> {
  return flags.kind === 'file' ? createFileFlagSource(flags.file, options) : createServerFlagSource(flags, options);
}

async function createFileFlagSource(file: string, { logger, flagNames }: FlagSourceOptions): Promise<FlagSource> {
  await ensureFlagsFile(file, flagNames, logger);
  const repository = new FlagsFileRepository(file);
  const unleash = new RouteFlagClient({
    appName: 'strangler-proxy',
    url: pathToFileURL(file).href,
    repository: repository as any,
    disableMetrics: true,
    skipInstanceCountWarning: true,
  });
  unleash.on(UnleashEvents.Error, (err: Error & { code?: string }) =>
    logger.error({ err, file, code: err.code }, 'flags file rejected, keeping the last good flags'),
  );
  unleash.on(UnleashEvents.Warn, (msg: string) => logger.warn({ file }, msg));
  unleash.on(UnleashEvents.Changed, (features: unknown[]) => logger.info({ file, flags: features.length }, 'flags applied'));
  const ready = new Promise<void>((resolve) => unleash.once(UnleashEvents.Ready, resolve));
  await unleash.start();
  await ready;
  return { isEnabled: (flag, context) => unleash.isOn(flag, context), degraded: () => false, close: () => unleash.destroy() };
}

/**
 * A flags file that does not exist yet is created with every route's flag at 0 %; flags the
 * routes name but the file lacks are added the same way. Both leave traffic on legacy.
 */
async function ensureFlagsFile(file: string, flagNames: readonly string[], logger: Logger): Promise<void> {
  let data = emptyFlags();
  let exists = true;
  try {
    await access(file);
    data = await readFlagsFile(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT' && (err as { cause?: NodeJS.ErrnoException }).cause?.code !== 'ENOENT') throw err;
    exists = false;
  }
  const known = new Set(data.features.map((f) => f.name));
  const missing = flagNames.filter((name) => !known.has(name));
  if (exists && missing.length === 0) return;
  for (const name of missing) data = applyShare(data, name, { percent: 0 });
  await writeFlagsFile(file, data);
  logger.info({ file, added: missing }, exists ? 'flags added to flags file at 0 %' : 'flags file created, every route at 0 %');
}

async function createServerFlagSource(flags: Extract<FlagsConfig, { kind: 'unleash' }>, { logger, readyTimeoutMs = 5000 }: FlagSourceOptions): Promise<FlagSource> {
  await mkdir(flags.backupDir, { recursive: true });
  const unleash = new RouteFlagClient({
    appName: flags.appName,
    url: flags.url,
    customHeaders: { Authorization: flags.token },
    refreshInterval: flags.refreshMs,
    backupPath: flags.backupDir,
    skipInstanceCountWarning: true,
  });
  let unreachable = false;
  unleash.on(UnleashEvents.Error, (err: Error) => {
    // Logged once per outage: the client retries on every refresh interval.
    if (!unreachable) logger.warn({ err, url: flags.url, backupDir: flags.backupDir }, 'unleash server unreachable, serving last known flags');
    unreachable = true;
  });
  const recovered = () => {
    if (unreachable) logger.info({ url: flags.url }, 'unleash server reachable again');
    unreachable = false;
  };
  unleash.on(UnleashEvents.Changed, recovered);
  unleash.on(UnleashEvents.Unchanged, recovered);
  unleash.on(UnleashEvents.Warn, (msg: string) => logger.warn({ url: flags.url }, msg));
  const ready = new Promise<boolean>((resolve) => {
    unleash.once(UnleashEvents.Ready, () => resolve(true));
    setTimeout(() => resolve(false), readyTimeoutMs).unref();
  });
  void unleash.start();
  if (!(await ready)) {
    logger.error({ url: flags.url, backupDir: flags.backupDir }, 'no flags from the unleash server and no backup yet: every route stays on legacy until the server answers');
  }
  return {
    isEnabled: (flag, context) => unleash.isOn(flag, context),
    degraded: () => unreachable,
    close() {
      unleash.destroy();
      // destroy() strips the repository's listeners, but a fetch already in flight can still
      // fail and emit 'error' on it afterwards, which would crash the process.
      (unleash as unknown as { repository?: EventEmitter }).repository?.on('error', () => {});
    },
  };
}
