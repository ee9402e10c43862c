import { applyPlan } from '../extract/apply-plan.ts';
import { DEFAULT_MAX_SAMPLES } from '../extract/collect-samples.ts';
import { formatPlan } from '../extract/format-plan.ts';
import { planExtraction } from '../extract/plan-extraction.ts';
import { CONFIG_OPTION, parseCommandArgs, UsageError, type Command } from './command.ts';

export const extractCommand: Command = {
  name: 'extract',
  summary: 'scaffold a service route for "<METHOD> <path>": handler, routes.yaml entry, flag, contract test',
  usage: `Usage: strangler extract "<METHOD> <path>" --service <name> [options]

Starts moving one legacy endpoint to a service. Run it from the repository root.
  - services/<name>/ does not exist: creates a Fastify service (app.ts with buildApp,
    server.ts over DATABASE_URL, routes/healthz.ts, README.md); otherwise adds to it.
  - services/<name>/routes/<route>.ts: the handler, answering 501 until you implement it.
  - routes.yaml: the service under services: (http://127.0.0.1:<port>) and the route under
    routes: with stage: shadow (legacy answers, the service gets a copy); comments and layout
    are kept, and the result is validated before anything is written.
  - the route's flag at 0 % in the local flags file.
  - test/services/<name>/<route>.contract.test.ts and <route>.samples.jsonl: a test that sends
    the samples to the service and compares its answers with legacy's recorded ones, and with
    CONTRACT_LIVE=1 with live legacy's (routes.yaml's legacy:) as well (TODO while the handler
    answers 501). Samples come from --samples or --paths; given neither, the route's path is
    recorded from legacy (routes.yaml's legacy:) when it has no :parameters.
Running it again changes nothing (new samples are appended, existing files are kept).

Options:
  -c, --config <file>        config file (default: ./routes.yaml)
      --service <name>       the service that takes the route (required), e.g. diaries
      --route <name>         the route's name in routes.yaml (default from the match:
                             GET /api/diaries → diaries-list, GET /api/users/:id/checkins →
                             users-checkins)
      --port <n>             port of a new service (default: after the highest service port
                             in routes.yaml, e.g. 3102)
      --samples <file>       take samples from a recording (JSONL written by the proxy's
                             record:) or a HAR file: the requests this route matches
      --paths <list>         record samples now by asking legacy (GET, HEAD, OPTIONS only)
                             for these comma-separated paths with queries
      --from-legacy <url>    ask this legacy instead of routes.yaml's legacy:
      --max-samples <n>      samples kept per route (default ${DEFAULT_MAX_SAMPLES})
      --migration            also write a knex migration stub migrations/<service>/<ts>_<route>.ts
      --dry-run              print every file that would be created or changed, and the
                             routes.yaml diff; write nothing
  -h, --help                 show this help

Examples:
  strangler extract "GET /api/diaries" --service diaries --dry-run
  strangler extract "GET /api/diaries" --service diaries --paths "/api/diaries?user=1,/api/diaries?user=2"
  strangler extract "GET /api/users/:id/checkins" --service checkins --samples var/recordings/traffic.jsonl
  strangler extract "GET /api/users/:id/checkins" --service checkins \\
      --from-legacy http://127.0.0.1:18000 --paths "/api/users/1/checkins"
  strangler extract "GET /api/leaderboard" --service checkins --route leaderboard-week --migration`,
  async run(argv) {
    const { values, positionals } = parseCommandArgs(argv, {
      ...CONFIG_OPTION,
      service: { type: 'string' },
      route: { type: 'string' },
      port: { type: 'string' },
      samples: { type: 'string' },
      'from-legacy': { type: 'string' },
      paths: { type: 'string' },
      'max-samples': { type: 'string', default: String(DEFAULT_MAX_SAMPLES) },
      migration: { type: 'boolean', default: false },
      'dry-run': { type: 'boolean', default: false },
    });
    if (positionals.length !== 1) throw new UsageError('give the endpoint as one quoted argument, e.g. strangler extract "GET /api/diaries" --service diaries');
    if (!values.service) throw new UsageError('--service <name> is required: the service that takes the route, e.g. --service diaries');
    if (values['from-legacy'] !== undefined && values.paths === undefined) throw new UsageError('--from-legacy needs --paths "<path>,<path>": the requests to record');
    const paths = values.paths?.split(',').map((p) => p.trim()).filter(Boolean);
    if (paths && paths.length === 0) throw new UsageError('--paths is empty; give e.g. --paths "/api/diaries?user=1"');
    const maxSamples = wholeNumber(values['max-samples'], '--max-samples', 1, 10_000);
    const port = values.port === undefined ? undefined : wholeNumber(values.port, '--port', 1, 65535);

    const plan = await planExtraction({
      root: process.cwd(),
      config: values.config,
      match: positionals[0],
      service: values.service,
      route: values.route,
      port,
      samples: values.samples,
      maxSamples,
      fromLegacy: values['from-legacy'],
      paths,
      migration: values.migration,
    });
    const dryRun = values['dry-run'];
    if (!dryRun) await applyPlan(plan);
    console.log(formatPlan(plan, { dryRun }));
    return 0;
  },
};

function wholeNumber(raw: string, name: string, min: number, max: number): number {
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || n < min || n > max) throw new UsageError(`${name} must be a whole number from ${min} to ${max}, not "${raw}"`);
  return n;
}
