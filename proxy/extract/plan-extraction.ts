import { access, readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { ROUTE_NAME, SAFE_METHODS, type Config, type RouteConfig } from '../config/schema.ts';
import { parseMatch, validateConfig } from '../config/validate-config.ts';
import { ConfigError, errors, formatProblem, StranglerError } from '../errors.ts';
import { applyShare, emptyFlags, readFlagsFile } from '../flags/flags-file.ts';
import { createRedactor } from '../parity/redact.ts';
import type { RecordedExchange } from '../parity/records.ts';
import { readTraffic } from '../replay/read-traffic.ts';
import { buildRouteMatcher, DEFAULT_MAX_SAMPLES, readSamples, recordFromLegacy, sampleKey } from './collect-samples.ts';
import { addToRoutesYaml, type RoutesYamlAdditions } from './edit-routes-yaml.ts';
import { deriveRouteName } from './names.ts';
import {
  addRouteToApp,
  APP_ROUTES_MARKER,
  hasRouteInApp,
  renderApp,
  renderContractTest,
  renderHealthzRoute,
  renderMigration,
  renderReadme,
  renderRouteModule,
  renderServer,
} from './templates.ts';

/**
 * `strangler extract` as a plan: every file it would create or change, with the new content,
 * computed from the repository as it is. Nothing is written here (apply-plan.ts writes), so a
 * dry run and a real run see the same plan, and a second run plans nothing.
 */

export interface ExtractOptions {
  /** the repository root: routes.yaml, services/, migrations/, test/ */
  root: string;
  /** "GET /api/diaries" */
  match: string;
  service: string;
  /** the route's name; default derived from the match (diaries-list) */
  route?: string;
  /** routes.yaml, relative to root unless absolute */
  config?: string;
  /** the port of a service routes.yaml does not know yet; default the next after the services' */
  port?: number;
  /** a recording (JSONL) or HAR file to take samples from */
  samples?: string;
  /** samples kept per route, default DEFAULT_MAX_SAMPLES */
  maxSamples?: number;
  /** legacy's base URL to record samples from now; default routes.yaml's legacy: */
  fromLegacy?: string;
  /**
   * the requests (paths with queries) to record from legacy. Neither these nor `samples` and
   * no samples yet: the route's own path is recorded when it has no parameters.
   */
  paths?: readonly string[];
  /** also write a knex migration stub */
  migration?: boolean;
  /** the migration's timestamp and the samples' `at`; default now */
  now?: Date;
  env?: NodeJS.ProcessEnv;
}

export interface FileWrite {
  file: string;
  /** relative to root, with / */
  relative: string;
  action: 'create' | 'update';
  content: string;
  /** what an update replaces */
  previous?: string;
  summary: string;
  /** an update worth showing as a diff (source and config, not data files) */
  showDiff?: boolean;
}

export interface ExtractionPlan {
  root: string;
  configFile: string;
  method: string;
  path: string;
  service: { name: string; url: string; isNew: boolean; addedToConfig: boolean };
  route: { name: string; flag: string; isNew: boolean };
  samples: { file: string; added: number; total: number };
  /** only real changes; empty when everything is already in place */
  writes: FileWrite[];
  /** files of the extraction already in place, left untouched (relative) */
  kept: string[];
  /** what the user has to know or do that no file says */
  notes: string[];
}

const DEFAULT_CONFIG = 'routes.yaml';
const FIRST_SERVICE_PORT = 3101;
const RESERVED_SERVICE_NAMES = new Map([
  ['legacy', 'it is the monolith\'s name in routes.yaml'],
  ['shared', 'services/shared/ holds the code every service shares'],
]);

export async function planExtraction(options: ExtractOptions): Promise<ExtractionPlan> {
  const root = path.resolve(options.root);
  const env = options.env ?? process.env;
  const now = options.now ?? new Date();
  if (!(await exists(path.join(root, 'services', 'shared', 'database.ts')))) throw errors.extractNotRepositoryRoot(root);

  const { method, path: routePath } = parseRouteMatch(options.match);
  const match = `${method} ${routePath}`;
  const serviceName = options.service;
  if (!ROUTE_NAME.test(serviceName)) throw errors.extractBadName('service', serviceName, 'use lower-case letters, digits and dashes, e.g. diaries');
  const reserved = RESERVED_SERVICE_NAMES.get(serviceName);
  if (reserved) throw errors.extractBadName('service', serviceName, `${reserved}; choose another`);

  const configFile = path.resolve(root, options.config ?? DEFAULT_CONFIG);
  const source = await readFile(configFile, 'utf8').catch((err) => {
    throw errors.configNotFound(configFile, err);
  });
  const validated = validateConfig(source, configFile, env);
  if (!validated.config) throw new ConfigError(configFile, validated.problems);
  const config = validated.config;

  const routeName = options.route ?? findSameRoute(config, method, routePath, serviceName)?.name ?? deriveRouteName(method, routePath);
  if (!ROUTE_NAME.test(routeName)) throw errors.extractBadName('route', routeName, 'use lower-case letters, digits and dashes, e.g. diaries-list');
  if (routeName === 'healthz') throw errors.extractBadName('route', routeName, 'routes/healthz.ts is the service\'s health check; pass another --route');
  const named = config.routes.find((r) => r.name === routeName);
  const existingRoute = named && isSameRoute(named, method, routePath, serviceName) ? named : undefined;
  if (!existingRoute) {
    assertPathFree(config, method, routePath, match);
    if (named) throw errors.extractRouteNameTaken(routeName, describeMatch(named), named.service, named.line);
  }

  const writes: FileWrite[] = [];
  const kept: string[] = [];
  const notes: string[] = [];
  const rel = (file: string) => path.relative(root, file).split(path.sep).join('/');
  const create = (file: string, content: string, summary: string) => writes.push({ file, relative: rel(file), action: 'create', content, summary });
  const update = (file: string, previous: string, content: string, summary: string, showDiff = false) =>
    writes.push({ file, relative: rel(file), action: 'update', content, previous, summary, showDiff });
  const keep = (file: string) => kept.push(rel(file));

  // the service
  const serviceDir = path.join(root, 'services', serviceName);
  const appFile = path.join(serviceDir, 'app.ts');
  const serverFile = path.join(serviceDir, 'server.ts');
  const routeFile = path.join(serviceDir, 'routes', `${routeName}.ts`);
  const serviceIsNew = !(await exists(appFile));
  const serviceInConfig = Object.hasOwn(config.services, serviceName);
  const port = serviceInConfig
    ? portOf(config.services[serviceName])
    : (options.port ?? (await readServerPort(serverFile)) ?? nextServicePort(config));
  const serviceUrl = serviceInConfig ? config.services[serviceName].origin : `http://127.0.0.1:${port}`;
  if (serviceInConfig && options.port !== undefined && options.port !== port) {
    notes.push(`--port ${options.port} ignored: routes.yaml already puts ${serviceName} at ${serviceUrl}`);
  }
  const template = { service: serviceName, route: routeName, method, path: routePath };
  if (serviceIsNew) {
    create(appFile, renderApp(serviceName, [routeName]), `buildApp({ db, logger }) with /healthz and ${routeName}`);
    if (await exists(serverFile)) keep(serverFile);
    else create(serverFile, renderServer(serviceName, port), `listens on PORT (default ${port}) over DATABASE_URL, graceful shutdown`);
    const healthz = path.join(serviceDir, 'routes', 'healthz.ts');
    if (await exists(healthz)) keep(healthz);
    else create(healthz, renderHealthzRoute(), 'GET /healthz: 200 while the database answers');
  }
  if (await exists(routeFile)) keep(routeFile);
  else create(routeFile, renderRouteModule(template), `${match} answering 501 until implemented`);
  if (serviceIsNew) {
    const readme = path.join(serviceDir, 'README.md');
    if (await exists(readme)) keep(readme);
    else create(readme, renderReadme({ ...template, port }), 'what it is, how to run it, how to implement a route');
  }
  if (!serviceIsNew) {
    const app = await readFile(appFile, 'utf8');
    if (hasRouteInApp(app, routeName)) keep(appFile);
    else {
      const next = addRouteToApp(app, routeName);
      if (next === undefined) throw errors.extractAppMarkerMissing(rel(appFile), APP_ROUTES_MARKER);
      update(appFile, app, next, `registers ${routeName}`, true);
    }
  }

  if (options.migration) {
    const dir = path.join(root, 'migrations', serviceName);
    const existing = (await readdir(dir).catch(() => [] as string[])).find((f) => f.endsWith(`_${routeName}.ts`) && /^\d+_/.test(f));
    if (existing) keep(path.join(dir, existing));
    else create(path.join(dir, `${migrationTimestamp(now)}_${routeName}.ts`), renderMigration(template), 'knex migration stub (up/down TODO)');
  }

  // the contract test and its samples
  const testDir = path.join(root, 'test', 'services', serviceName);
  const testFile = path.join(testDir, `${routeName}.contract.test.ts`);
  const configPath = path.relative(testDir, configFile).split(path.sep).join('/');
  if (await exists(testFile)) keep(testFile);
  else create(testFile, renderContractTest({ ...template, configPath }), 'holds the service to legacy\'s recorded answers (and live legacy with CONTRACT_LIVE=1)');
  const samplesFile = path.join(testDir, `${routeName}.samples.jsonl`);
  const samples = await planSamples(samplesFile, { ...options, now }, { name: routeName, method, path: routePath, match }, config);
  if (samples.previous === undefined) create(samplesFile, samples.content, `${samples.added} recorded request(s) with legacy's answers`);
  else if (samples.added > 0) update(samplesFile, samples.previous, samples.content, `+${samples.added} recorded request(s), ${samples.total} in all`);
  else keep(samplesFile);
  if (samples.note) notes.push(samples.note);

  // routes.yaml
  const additions: RoutesYamlAdditions = {};
  if (!serviceInConfig) additions.service = { name: serviceName, url: serviceUrl };
  if (!existingRoute) additions.route = { name: routeName, match, service: serviceName, stage: 'shadow' };
  let nextConfig = config;
  if (additions.service || additions.route) {
    const edited = addToRoutesYaml(source, additions);
    const result = validateConfig(edited, configFile, env);
    const added = result.config?.routes.find((r) => r.name === routeName);
    if (!result.config || !added || !isSameRoute(added, method, routePath, serviceName)) {
      const problems = result.problems.map(formatProblem);
      throw errors.extractConfigRejected(rel(configFile), problems.length > 0 ? problems : [`route "${routeName}" did not come out as ${match} → ${serviceName}`]);
    }
    nextConfig = result.config;
    const what = [additions.service && `service ${serviceName} (${serviceUrl})`, additions.route && `route ${routeName} (${match}, stage shadow)`].filter(Boolean).join(' and ');
    update(configFile, source, edited, `adds ${what}`, true);
  } else keep(configFile);

  // the route's flag, at 0 % until someone shifts traffic
  const route = nextConfig.routes.find((r) => r.name === routeName)!;
  if (nextConfig.flags.kind === 'file') {
    const flagsFile = nextConfig.flags.file;
    const present = await exists(flagsFile);
    const flags = present ? await readFlagsFile(flagsFile) : emptyFlags();
    if (flags.features.some((f) => f.name === route.flag)) keep(flagsFile);
    else {
      const content = `${JSON.stringify(applyShare(flags, route.flag, { percent: 0 }), null, 2)}\n`;
      if (present) update(flagsFile, await readFile(flagsFile, 'utf8'), content, `flag ${route.flag} at 0 %`);
      else create(flagsFile, content, `flag ${route.flag} at 0 %`);
    }
  } else {
    notes.push(`flags come from Unleash (${nextConfig.flags.url}): create flag ${route.flag} there at 0 % (strangler shift ${routeName} 0 does it with an admin token)`);
  }

  return {
    root,
    configFile,
    method,
    path: routePath,
    service: { name: serviceName, url: serviceUrl, isNew: serviceIsNew, addedToConfig: !serviceInConfig },
    route: { name: routeName, flag: route.flag, isNew: !existingRoute },
    samples: { file: rel(samplesFile), added: samples.added, total: samples.total },
    writes,
    kept,
    notes,
  };
}

function parseRouteMatch(match: string): { method: string; path: string } {
  const parsed = parseMatch(match);
  // parseMatch's own fix speaks of routes.yaml's match: key; the error says what to type here
  if (typeof parsed === 'string') throw errors.extractBadMatch(match, parsed.split('; write match:')[0]);
  if (parsed.methods.length !== 1 || match.trim().startsWith('*')) {
    throw errors.extractBadMatch(match, 'give exactly one method: a scaffolded handler answers one method, extract the others one at a time');
  }
  return { method: parsed.methods[0], path: parsed.path };
}

function describeMatch(route: RouteConfig): string {
  return `${route.methods.join(',')} ${route.path}`;
}

function isSameRoute(route: RouteConfig, method: string, routePath: string, service: string): boolean {
  return route.methods.length === 1 && route.methods[0] === method && route.path === routePath && route.service === service;
}

function findSameRoute(config: Config, method: string, routePath: string, service: string): RouteConfig | undefined {
  return config.routes.find((r) => isSameRoute(r, method, routePath, service));
}

/** No other route may match the new route's requests: the proxy would send them elsewhere. */
function assertPathFree(config: Config, method: string, routePath: string, match: string): void {
  // a concrete request of the new route: parameters and wildcards filled in
  const example = routePath.replace(/:[A-Za-z_][A-Za-z0-9_]*(\([^)]*\))?/g, '1').replace(/\*/g, 'x');
  const shape = (p: string) => p.replace(/:[^/]+/g, ':');
  for (const route of config.routes) {
    if (!route.methods.includes(method)) continue;
    if (shape(route.path) === shape(routePath) || buildRouteMatcher(method, route.path).matches(method, example)) {
      throw errors.extractPathCovered(match, route.name, describeMatch(route), route.line);
    }
  }
}

interface PlannedSamples {
  /** the file's current text; undefined when it does not exist */
  previous?: string;
  content: string;
  added: number;
  total: number;
  /** what the engineer should know about the samples: where automatic ones came from, or why there are none */
  note?: string;
}

/**
 * The samples file with new samples appended; samples already in it are never recorded twice.
 * Given no samples at all, it records some from legacy itself: a contract test without samples
 * holds the service to nothing.
 */
async function planSamples(
  file: string,
  options: ExtractOptions & { now: Date },
  route: { name: string; method: string; path: string; match: string },
  config: Config,
): Promise<PlannedSamples> {
  const previous = (await exists(file)) ? await readFile(file, 'utf8') : undefined;
  const existing: RecordedExchange[] = [];
  if (previous !== undefined) for await (const exchange of readTraffic(file)) existing.push(exchange);
  const max = options.maxSamples ?? DEFAULT_MAX_SAMPLES;
  const skip = new Set(existing.map(sampleKey));
  const matcher = buildRouteMatcher(route.method, route.path);
  const added: RecordedExchange[] = [];
  const room = () => Math.max(0, max - existing.length - added.length);
  const redactor = createRedactor(config.comparisons.redact);
  if (options.samples) {
    const found = await readSamples(options.samples, { name: route.name, matcher, match: route.match }, { max: room(), skip, redactor });
    for (const exchange of found) skip.add(sampleKey(exchange));
    added.push(...found);
  }
  const legacyUrl = options.fromLegacy ?? config.legacy.origin;
  const record = (paths: readonly string[]) => recordFromLegacy(legacyUrl, paths, { ...route, matcher }, { max: room(), skip, redactor, now: () => options.now });
  let note: string | undefined;
  if (options.fromLegacy !== undefined || options.paths !== undefined) added.push(...(await record(options.paths ?? [])));
  else if (!options.samples && existing.length === 0) {
    const automatic = await recordAutomatically(route, legacyUrl, record);
    added.push(...automatic.recorded);
    note = automatic.note;
  }
  const total = existing.length + added.length;
  if (total === 0) note ??= `no samples yet: the contract test stays TODO until there are some (--paths "<path>,…" records them from legacy at ${legacyUrl}, --samples <recording> takes them from the proxy's recording)`;
  const base = previous === undefined || previous === '' || previous.endsWith('\n') ? (previous ?? '') : `${previous}\n`;
  const content = base + added.map((e) => `${JSON.stringify(e)}\n`).join('');
  return { previous, content, added: added.length, total, note };
}

/**
 * The route's own path, asked of legacy, when that is one request: a path with parameters has
 * no request to guess, and an unsafe method would change legacy's data. Legacy not answering is
 * a note, not a failure: the scaffold is still worth writing.
 */
async function recordAutomatically(
  route: { method: string; path: string; match: string },
  legacyUrl: string,
  record: (paths: readonly string[]) => Promise<RecordedExchange[]>,
): Promise<{ recorded: RecordedExchange[]; note: string }> {
  const { method, path: routePath, match } = route;
  if (!SAFE_METHODS.has(method)) {
    return { recorded: [], note: `no samples: extract only asks legacy safe requests (GET, HEAD, OPTIONS), and ${method} would change its data; record ${match} through the proxy (record: on a route that covers it) and pass --samples <recording>` };
  }
  if (/[:*]/.test(routePath)) {
    const example = routePath.replace(/:([A-Za-z_][A-Za-z0-9_]*)(\([^)]*\))?/g, '<$1>').replace(/\*/g, '<rest>');
    return { recorded: [], note: `no samples: ${match} has path parameters, so there is no one request to record; pass --paths "${example},…" with real values (asked of legacy at ${legacyUrl}) or --samples <recording>` };
  }
  try {
    const recorded = await record([routePath]);
    return { recorded, note: `recorded ${method} ${routePath} from legacy at ${legacyUrl} as the only sample; add the requests that matter (query strings, other ids) with --paths "${routePath}?…,…" or --samples <recording>` };
  } catch (err) {
    if (!(err instanceof StranglerError) || err.code !== 'STRANGLER_ERR_EXTRACT_LEGACY_UNREACHABLE') throw err;
    return { recorded: [], note: `no samples: ${err.message}; then run extract again (the contract test stays TODO until there are samples)` };
  }
}

/** The port after the highest port of the services in routes.yaml, skipping every port it uses. */
export function nextServicePort(config: Config): number {
  const servicePorts = Object.values(config.services).map(portOf);
  const used = new Set([...servicePorts, config.listen.port, portOf(config.legacy), ...(config.admin ? [config.admin.listen.port] : [])]);
  let port = servicePorts.length > 0 ? Math.max(...servicePorts) + 1 : FIRST_SERVICE_PORT;
  while (used.has(port)) port++;
  return port;
}

function portOf(url: URL): number {
  if (url.port !== '') return Number(url.port);
  return url.protocol === 'https:' ? 443 : 80;
}

/** DEFAULT_PORT of an existing server.ts, so routes.yaml points where the service listens. */
async function readServerPort(file: string): Promise<number | undefined> {
  const text = await readFile(file, 'utf8').catch(() => undefined);
  const m = text === undefined ? null : /DEFAULT_PORT\s*=\s*(\d{1,5})\b/.exec(text);
  return m ? Number(m[1]) : undefined;
}

/** knex's file-name prefix: YYYYMMDDHHMMSS, UTC */
function migrationTimestamp(now: Date): string {
  return now.toISOString().replace(/[-:T]/g, '').slice(0, 14);
}

async function exists(file: string): Promise<boolean> {
  return access(file).then(
    () => true,
    () => false,
  );
}
