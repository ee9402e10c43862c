import { StranglerError } from '../errors.ts';
import { checkCommand } from './check.ts';
import { UsageError, type Command } from './command.ts';
import { demoCommand } from './demo.ts';
import { migrateCommand } from './migrate.ts';
import { parityCommand } from './parity.ts';
import { replayCommand } from './replay.ts';
import { diffCommand } from './diff.ts';
import { inventoryCommand } from './inventory.ts';
import { extractCommand } from './extract.ts';
import { auditCommand, promoteCommand, rollbackCommand, statusCommand } from './status.ts';
import { proxyCommand } from './proxy.ts';
import { shiftCommand } from './shift.ts';

const COMMANDS: readonly Command[] = [demoCommand, proxyCommand, checkCommand, statusCommand, shiftCommand, rollbackCommand, promoteCommand, auditCommand, parityCommand, replayCommand, diffCommand, inventoryCommand, extractCommand, migrateCommand];

function mainHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    'strangler: move a PHP monolith to services one route at a time, behind feature flags.',
    '',
    'Usage: strangler <command> [options]     (strangler <command> --help for details)',
    '',
    'Commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'Start with: strangler demo',
  ].join('\n');
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(mainHelp());
    return name ? 0 : 2;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) {
    console.error(`strangler: unknown command "${name}"\n\n${mainHelp()}`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    console.log(command.usage);
    return 0;
  }
  try {
    return await command.run(rest);
  } catch (err) {
    if (err instanceof UsageError) {
      console.error(`strangler ${name}: ${err.message}\n\n${command.usage}`);
      return 2;
    }
    if (err instanceof StranglerError) {
      console.error(`strangler ${name}: ${err.message}\n(${err.code})`);
      return 1;
    }
    throw err;
  }
}

process.exitCode = await main(process.argv.slice(2));
