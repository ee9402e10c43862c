import { watch } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { ConfigError, errors, StranglerError } from '../errors.ts';
import { configFromSource, readConfigSource } from './load-config.ts';
import type { Config } from './schema.ts';

export interface ConfigWatcher {
  /** re-read now (SIGHUP); applies the file once it has settled, even when its text is unchanged */
  reload(): Promise<void>;
  close(): void;
}

export interface WatchConfigOptions {
  /** says when a change is noticed and while the file is still being written */
  logger?: Pick<Logger, 'info'>;
  /** how long the file must stay byte-for-byte the same before it is read as the new config */
  settleMs?: number;
}

/** fs.watch fires several events for one save; the first read waits until they stop. */
const DEBOUNCE_MS = 50;
/**
 * A file written in place (an editor without atomic save, `cat > routes.yaml`, scp) is valid
 * YAML at almost every byte, and a cut-off file once sent a 100 % route back to legacy. So a
 * change is applied only after two reads this far apart are identical.
 */
export const SETTLE_MS = 400;
/** after this many settle intervals of changes the file is given up on until the next change */
const MAX_SETTLE_ROUNDS = 25;

type Snapshot = { text: string } | { error: StranglerError };

/**
 * Re-reads routes.yaml when it changes, once it has stopped changing. A file that fails
 * validation is reported through onRejected and changes nothing: the last good config keeps
 * serving. Renaming a complete file over routes.yaml is the safe way to edit it; in-place
 * writes are safe as long as no pause in them is longer than settleMs.
 */
export function watchConfig(
  file: string,
  onValid: (config: Config) => Promise<void> | void,
  onRejected: (error: ConfigError | Error) => void,
  options: WatchConfigOptions = {},
): ConfigWatcher {
  const absolute = path.resolve(file);
  const settleMs = options.settleMs ?? SETTLE_MS;
  const logger = options.logger;
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  let running = Promise.resolve();
  let queued: Promise<void> | undefined;
  let queuedForce = false;
  /** the text last validated, so a second event for the same save does not apply it twice */
  let lastText: string | undefined;

  const read = async (): Promise<Snapshot> => {
    try {
      return { text: await readConfigSource(absolute) };
    } catch (err) {
      return { error: err as StranglerError };
    }
  };

  /** the file's text once two reads settleMs apart agree (a missing file counts, as an error) */
  const readSettled = async (): Promise<string | undefined> => {
    let previous = await read();
    for (let round = 1; ; round++) {
      await sleep(settleMs, undefined, { ref: false });
      if (closed) return undefined;
      const current = await read();
      if ('text' in current && 'text' in previous && current.text === previous.text) return current.text;
      if ('error' in current && 'error' in previous && current.error.code === previous.error.code) throw current.error;
      if (round >= MAX_SETTLE_ROUNDS) throw errors.configUnsettled(absolute, round * settleMs);
      logger?.info({ file: absolute, bytes: 'text' in current ? Buffer.byteLength(current.text) : null, settleMs }, 'config file still being written, waiting');
      previous = current;
    }
  };

  const apply = async (force: boolean): Promise<void> => {
    if (closed) return;
    try {
      const text = await readSettled();
      if (text === undefined || (!force && text === lastText)) return;
      lastText = text;
      await onValid(configFromSource(text, absolute));
    } catch (err) {
      // a failure to apply a valid config is worth retrying on the next event; a bad file is not
      if (!(err instanceof ConfigError)) lastText = undefined;
      onRejected(err as Error);
    }
  };

  /** one read at a time; changes during it queue exactly one more */
  const schedule = (force: boolean): Promise<void> => {
    queuedForce ||= force;
    if (queued) return queued;
    const next = running.then(() => {
      queued = undefined;
      const f = queuedForce;
      queuedForce = false;
      return apply(f);
    });
    queued = next;
    running = next;
    return next;
  };

  const watcher = watch(path.dirname(absolute), { persistent: false }, (_event, name) => {
    if (name !== path.basename(absolute)) return;
    clearTimeout(timer);
    timer = setTimeout(() => {
      logger?.info({ file: absolute, settleMs }, 'config file changed, waiting for it to settle');
      void schedule(false);
    }, DEBOUNCE_MS);
  });
  return {
    reload: () => schedule(true),
    close() {
      closed = true;
      clearTimeout(timer);
      watcher.close();
    },
  };
}
