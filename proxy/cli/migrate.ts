import { migrateLatest, migrateRollback } from '../../migrations/migrate.ts';
import { createLogger } from '../log.ts';
import { parseCommandArgs, type Command } from './command.ts';

export const migrateCommand: Command = {
  name: 'migrate',
  summary: 'apply the services\' knex migrations (indexes and tables the services need)',
  usage: `Usage: strangler migrate [--database-url <url>] [--rollback]

Applies every pending knex migration under migrations/ to the shared database. Legacy owns
its own schema; migrations only add what the extracted services need. Safe to run twice.

Options:
      --database-url <url>  sqlite:<path> or mysql://user:pass@host:port/db
                            (default: $DATABASE_URL, else sqlite:var/timing.sqlite)
      --rollback            revert the last batch instead
  -h, --help                show this help`,
  async run(argv) {
    const { values } = parseCommandArgs(argv, { 'database-url': { type: 'string' }, rollback: { type: 'boolean', default: false } });
    const log = createLogger('info', 'migrate');
    const databaseUrl = values['database-url'];
    if (values.rollback) {
      const { rolledBack } = await migrateRollback({ databaseUrl, log });
      console.log(rolledBack.length ? `rolled back: ${rolledBack.join(', ')}` : 'nothing to roll back');
    } else {
      const { applied } = await migrateLatest({ databaseUrl, log });
      console.log(applied.length ? `applied: ${applied.join(', ')}` : 'already up to date');
    }
    return 0;
  },
};
