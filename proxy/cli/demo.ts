import path from 'node:path';
import { findPhp, startLegacy } from '../../legacy/start-legacy.ts';
import { migrateLatest } from '../../migrations/migrate.ts';
import { startRooms } from '../../services/rooms/server.ts';
import { startDiaries } from '../../services/diaries/server.ts';
import { REPO_ROOT } from '../../services/shared/repo-root.ts';
import { loadConfig } from '../config/load-config.ts';
import { errors } from '../errors.ts';
import { createLogger } from '../log.ts';
import { CONFIG_OPTION, parseCommandArgs, type Command } from './command.ts';
import { runProxy } from './run-proxy.ts';
import { untilSignal } from './until-signal.ts';

const REPO = REPO_ROOT;

/** Services the demo knows how to start in-process. */
/** rooms was extracted by hand, diaries with `strangler extract`. */
const DEMO_SERVICES: Record<string, (options: { databaseUrl: string; host: string; port: number; logger: import('fastify').FastifyBaseLogger }) => Promise<{ stop(): Promise<void> }>> = {
  rooms: startRooms,
  diaries: startDiaries,
};

export const demoCommand: Command = {
  name: 'demo',
  summary: 'run the whole set-up locally: PHP monolith, rooms service and proxy (embedded SQLite)',
  usage: `Usage: strangler demo [--config routes.yaml]

Starts, on the addresses in the config:
  legacy  the Timing PHP monolith (php -S), seeding its database on first start
  rooms   the extracted Fastify service, after applying its migrations
  proxy   the routing proxy in front of both
then prints what to try. Ctrl-C stops everything.

Environment:
  DATABASE_URL   shared database (default sqlite:var/timing.sqlite;
                 e.g. mysql://root@127.0.0.1:3306/timing for MySQL/MariaDB)
  STRANGLER_PHP  the php binary to run the monolith with (default: php on PATH)

Options:
  -c, --config <file>  config file (default: ./routes.yaml)
  -h, --help           show this help`,
  async run(argv) {
    const { values } = parseCommandArgs(argv, CONFIG_OPTION);
    const config = await loadConfig(values.config);
    const logger = createLogger(config.log.level);
    const databaseUrl = process.env.DATABASE_URL ?? `sqlite:${path.join(REPO, 'var', 'timing.sqlite')}`;
    const phpBinary = process.env.STRANGLER_PHP || undefined;
    const php = await findPhp({ phpBinary });
    if (!php.ok) throw errors.phpMissing(php.reason);

    const step = (text: string) => process.stderr.write(`» ${text}\n`);
    const stops: Array<() => Promise<void>> = [];
    try {
      step(`starting the PHP monolith on ${config.legacy.origin} (${php.version}); the first start seeds the database…`);
      const legacyLog = logger.child({ upstream: 'legacy' });
      const legacy = await startLegacy({
        databaseUrl,
        phpBinary,
        host: config.legacy.hostname,
        port: Number(config.legacy.port || 80),
        log: (line) => legacyLog.debug({ line }, 'php'),
      });
      stops.unshift(legacy.stop);

      step('applying service migrations…');
      await migrateLatest({ databaseUrl, log: logger.child({ component: 'migrate' }) });

      for (const [name, url] of Object.entries(config.services)) {
        const start = DEMO_SERVICES[name];
        if (!start) {
          step(`service "${name}" is not part of the demo; start it yourself on ${url.origin}`);
          continue;
        }
        step(`starting service "${name}" on ${url.origin}…`);
        const service = await start({ databaseUrl, host: url.hostname, port: Number(url.port || 80), logger: logger.child({ upstream: name }) });
        stops.unshift(service.stop);
      }

      const proxy = await runProxy(config, logger);
      stops.unshift(proxy.stop);
      process.stderr.write(tour(proxy.url, config.legacy.origin, values.config));

      const signal = await untilSignal();
      step(`${signal}: stopping…`);
    } finally {
      for (const stop of stops) await stop().catch((err) => logger.error({ err }, 'stop failed'));
    }
    return 0;
  },
};

function tour(proxyUrl: string, legacyUrl: string, configFile: string): string {
  const cfg = configFile === 'routes.yaml' ? '' : ` --config ${configFile}`;
  return `
strangler demo is running. Talk to the proxy: ${proxyUrl}
  legacy (PHP) ${legacyUrl}    browse ${proxyUrl}/  (log in as demo@timing.test / timing)

Try it (in another terminal):
  curl -si ${proxyUrl}/api/rooms/1 | grep -i x-strangler-target   → legacy
  npx strangler shift rooms-get 100${cfg}                          → every GET /api/rooms/:id to the rooms service
  curl -si ${proxyUrl}/api/rooms/1 | grep -i x-strangler-target   → rooms   (no restart)
  npx strangler shift rooms-get 30${cfg}                           → 30 %, sticky per x-user-id / PHPSESSID
  curl -s -H 'x-user-id: 42' ${proxyUrl}/api/rooms/1 -o /dev/null -w '%header{x-strangler-target}\\n'
  npx strangler shift rooms-get off${cfg}                          → kill switch: back to legacy within a second
  npx strangler status${cfg}                                       → every route: stage, share, req/s, parity (admin API)
  npx strangler audit${cfg}                                        → who shifted what, when, why

Parallel run (rooms-list is in stage shadow: legacy answers, rooms gets a copy):
  for p in 1 2 3 4 5; do curl -s "${proxyUrl}/api/rooms?page=$p" >/dev/null; done
  npx strangler parity${cfg}                                       → parity per route, differing paths, learned noise
  npx strangler diff report${cfg}                                  → var/diff-report.html
  npx strangler replay var/recordings/traffic.jsonl${cfg}          → the recorded requests again, with --min-parity

One JSON log line per request follows (route, target, status, ms). Ctrl-C stops everything.

`;
}
