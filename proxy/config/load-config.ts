import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { ConfigError, errors } from '../errors.ts';
import type { Config } from './schema.ts';
import { validateConfig } from './validate-config.ts';

/** Reads, expands and validates a routes.yaml; throws ConfigError listing every problem. */
export async function loadConfig(file: string, env: NodeJS.ProcessEnv = process.env): Promise<Config> {
  const absolute = path.resolve(file);
  let source: string;
  try {
    source = await readFile(absolute, 'utf8');
  } catch (err) {
    throw errors.configNotFound(absolute, err);
  }
  const { config, problems } = validateConfig(source, absolute, env);
  if (!config) throw new ConfigError(absolute, problems);
  return config;
}
