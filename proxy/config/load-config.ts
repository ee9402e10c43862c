import { open } from 'node:fs/promises';
import path from 'node:path';
import { ConfigError, errors } from '../errors.ts';
import type { Config } from './schema.ts';
import { validateConfig } from './validate-config.ts';
import { CONFIG_LIMITS, tooLargeProblem } from './parse-source.ts';

/** Reads, expands and validates a routes.yaml; throws ConfigError listing every problem. */
export async function loadConfig(file: string, env: NodeJS.ProcessEnv = process.env): Promise<Config> {
  const absolute = path.resolve(file);
  return configFromSource(await readConfigSource(absolute), absolute, env);
}

/** Validates routes.yaml text already read from `file` (absolute); throws ConfigError listing every problem. */
export function configFromSource(source: string, file: string, env: NodeJS.ProcessEnv = process.env): Config {
  const { config, problems } = validateConfig(source, file, env);
  if (!config) throw new ConfigError(file, problems);
  return config;
}

/**
 * The text of routes.yaml, never more than CONFIG_LIMITS.maxBytes of it: a file over the limit
 * is refused after reading one byte too many, so a huge file, a growing log or --config /dev/zero
 * cannot fill the memory.
 */
export async function readConfigSource(file: string): Promise<string> {
  const absolute = path.resolve(file);
  let handle;
  try {
    handle = await open(absolute, 'r');
  } catch (err) {
    throw errors.configNotFound(absolute, err);
  }
  try {
    const buffer = Buffer.alloc(CONFIG_LIMITS.maxBytes + 1);
    let length = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, null);
      length += bytesRead;
      if (bytesRead === 0 || length === buffer.length) break;
    }
    if (length > CONFIG_LIMITS.maxBytes) {
      const { size } = await handle.stat();
      throw new ConfigError(absolute, [tooLargeProblem(absolute, Math.max(size, length))]);
    }
    return buffer.toString('utf8', 0, length);
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw errors.configUnreadable(absolute, err);
  } finally {
    await handle.close();
  }
}
