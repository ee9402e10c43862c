import { parseArgs, type ParseArgsConfig } from 'node:util';

/** One CLI command: its help text and what it does. Exit code 2 means "wrong usage". */
export interface Command {
  name: string;
  summary: string;
  usage: string;
  run(argv: string[]): Promise<number>;
}

export class UsageError extends Error {}

export const CONFIG_OPTION = { config: { type: 'string', short: 'c', default: 'routes.yaml' } } as const;

/** parseArgs with strict checking, turning its errors into a UsageError the CLI prints with help. */
export function parseCommandArgs<T extends NonNullable<ParseArgsConfig['options']>>(argv: string[], options: T) {
  try {
    return parseArgs({ args: argv, options: { ...options, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}
