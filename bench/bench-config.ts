import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { rolloutFeature, writeFlagsFile, type Feature } from '../proxy/flags/flags-file.ts';
import { SERVICE } from './rows.ts';

export interface BenchRoute {
  name: string;
  /** "METHOD /path" as in routes.yaml */
  match: string;
  service: string;
  /** more route keys, e.g. ['stage: shadow'] */
  keys?: readonly string[];
}

export interface BenchConfig {
  dir: string;
  /** file name of the routes.yaml inside dir */
  name: string;
  legacy: string;
  services: Record<string, string>;
  routes: readonly BenchRoute[];
  logLevel: string;
  /** more top-level YAML lines */
  extra?: readonly string[];
}

/** Writes a routes.yaml using dir/flags.json (local flags) and returns its path. */
export async function writeBenchConfig(config: BenchConfig): Promise<string> {
  const file = path.join(config.dir, config.name);
  const lines = [
    'listen: 127.0.0.1:0',
    `legacy: ${config.legacy}`,
    'services:',
    ...Object.entries(config.services).map(([name, url]) => `  ${name}: ${url}`),
    'flags:',
    '  file: flags.json',
    'log:',
    `  level: ${config.logLevel}`,
    ...(config.extra ?? []),
    'routes:',
    ...config.routes.flatMap((r) => [`  - name: ${r.name}`, `    match: ${r.match}`, `    service: ${r.service}`, ...(r.keys ?? []).map((k) => `    ${k}`)]),
    '',
  ];
  await writeFile(file, lines.join('\n'));
  return file;
}

export function writeBenchFlags(dir: string, features: Feature[]): Promise<void> {
  return writeFlagsFile(path.join(dir, 'flags.json'), { version: 2, features });
}

/** Where a proxy row sends its traffic: legacy, and the service (another process when given). */
export interface RowUpstreams {
  legacy: string;
  service?: string;
}

/**
 * The config a proxy row runs, in dir with its flags file: route bench-on (GET /api/rooms/:id) on
 * the service, its flag at 100 %. shadow: every request copied (sample 100 %), legacy asked
 * again for 10 % (the default), comparisons stored in SQLite, as a QA run would leave it.
 */
export async function writeRowConfig(dir: string, upstreams: RowUpstreams, { logLevel, shadow = false }: { logLevel: string; shadow?: boolean }): Promise<string> {
  await writeBenchFlags(dir, [rolloutFeature('bench-on', 100)]);
  return writeBenchConfig({
    dir,
    name: `routes-${logLevel}${shadow ? '-shadow' : ''}.yaml`,
    legacy: upstreams.legacy,
    services: { [SERVICE]: upstreams.service ?? upstreams.legacy },
    routes: [{ name: 'bench-on', match: 'GET /api/rooms/:id', service: SERVICE, keys: shadow ? ['stage: shadow'] : [] }],
    extra: shadow ? ['comparisons:', `  database: sqlite:${path.join(dir, 'comparisons.sqlite')}`] : [],
    logLevel,
  });
}
