import { ConfigError, formatProblem } from '../errors.ts';
import { loadConfig } from '../config/load-config.ts';
import { CONFIG_OPTION, parseCommandArgs, type Command } from './command.ts';

export const checkCommand: Command = {
  name: 'check',
  summary: 'validate routes.yaml without starting anything (exit 1 on problems)',
  usage: `Usage: strangler check [--config routes.yaml] [--json]

Validates the config file and prints every problem with file:line and the fix.
Exit code 0 when the file is good, 1 when it has problems.

Options:
  -c, --config <file>  config file (default: ./routes.yaml)
      --json           print the result as JSON
  -h, --help           show this help`,
  async run(argv) {
    const { values } = parseCommandArgs(argv, { ...CONFIG_OPTION, json: { type: 'boolean', default: false } });
    try {
      const config = await loadConfig(values.config);
      if (values.json) {
        console.log(JSON.stringify({ ok: true, file: config.file, routes: config.routes.map((r) => r.name), services: Object.keys(config.services) }));
      } else {
        const flags = config.flags.kind === 'file' ? `flags file ${config.flags.file}` : `Unleash server ${config.flags.url}`;
        console.log(`${config.file}: ok — ${config.routes.length} route(s), ${Object.keys(config.services).length} service(s), ${flags}`);
      }
      return 0;
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      if (values.json) console.log(JSON.stringify({ ok: false, problems: err.problems }));
      else {
        console.error(`${err.problems.length} problem(s) in ${err.problems[0]?.file}:`);
        for (const p of err.problems) console.error(`  ${formatProblem(p)}`);
      }
      return 1;
    }
  },
};
