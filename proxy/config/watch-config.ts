import { watch } from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../errors.ts';
import { loadConfig } from './load-config.ts';
import type { Config } from './schema.ts';

export interface ConfigWatcher {
  /** re-read now (SIGHUP) */
  reload(): Promise<void>;
  close(): void;
}

/**
 * Re-reads routes.yaml when it changes. A file that fails validation is reported through
 * onRejected and changes nothing: the last good config keeps serving.
 */
export function watchConfig(
  file: string,
  onValid: (config: Config) => Promise<void> | void,
  onRejected: (error: ConfigError | Error) => void,
): ConfigWatcher {
  const absolute = path.resolve(file);
  let timer: NodeJS.Timeout | undefined;
  let running = Promise.resolve();
  const reload = (): Promise<void> => {
    running = running.then(async () => {
      try {
        await onValid(await loadConfig(absolute));
      } catch (err) {
        onRejected(err as Error);
      }
    });
    return running;
  };
  const watcher = watch(path.dirname(absolute), { persistent: false }, (_event, name) => {
    if (name !== path.basename(absolute)) return;
    clearTimeout(timer);
    timer = setTimeout(() => void reload(), 50);
  });
  return {
    reload,
    close() {
      clearTimeout(timer);
      watcher.close();
    },
  };
}
