import path from 'node:path';
import { isMap, isPair, isScalar, isSeq, type LineCounter, type Node, type Pair, type YAMLMap } from 'yaml';
import type { ConfigProblem } from '../errors.ts';
import { expandEnv } from './expand-env.ts';
import { isAddressOrCidr } from '../util/is-address-or-cidr.ts';
import { parseSource, SYNTAX_HINT } from './parse-source.ts';
import {
  DEFAULTS,
  ESCAPED_SLASH_ACTIONS,
  HTTP_METHODS,
  KNOWN_KEYS,
  LOG_LEVELS,
  REDIRECT_MODES,
  ROUTE_NAME,
  type RedirectMode,
  type Config,
  type ContextConfig,
  type FlagsConfig,
  type QueryCondition,
  type RequestSource,
  type RouteConfig,
  SAFE_METHODS,
  STAGES,
  type ComparisonsConfig,
  type RecordingConfig,
  type RouteStage,
  type ShadowConfig,
} from './schema.ts';
import { validateRules, type RulesInput } from '../comparison/rules.ts';
import { buildQueryPattern, describeQuery, findBadPlaceholder } from '../routing/query-condition.ts';
import { closest } from '../util/closest.ts';
import { parseDuration } from '../util/parse-duration.ts';

export interface ValidationResult {
  config?: Config;
  problems: ConfigProblem[];
}

/**
 * Parses and validates routes.yaml text. Walks the YAML tree (not the plain JS value) so every
 * problem carries the line of the node it is about. Reports every problem at once.
 */
export function validateConfig(source: string, file: string, env: NodeJS.ProcessEnv = process.env): ValidationResult {
  const parsed = parseSource(source, file);
  if ('problems' in parsed) return { problems: parsed.problems };
  const { doc, lines } = parsed;
  const reader = new Reader(file, lines, env);

  // Only the first syntax error: the parser's later ones are usually echoes of it.
  const syntax = doc.errors[0];
  if (syntax) {
    const pos = lines.linePos(syntax.pos[0]);
    const hint = syntax.code === 'DUPLICATE_KEY' ? 'remove one of the two keys' : SYNTAX_HINT;
    reader.problems.push({ file, line: pos.line, column: pos.col, path: '', message: `YAML syntax: ${firstLine(syntax.message)}; ${hint}` });
  }
  if (doc.errors.length > 0) return { problems: reader.problems };

  const root = doc.contents;
  if (!isMap(root)) {
    reader.report(root, '', 'the file must be a YAML mapping with at least "legacy:" and "routes:" (see README "Config reference")');
    return { problems: reader.problems };
  }
  const config = reader.readTop(root);
  return reader.problems.length > 0 ? { problems: reader.problems } : { config, problems: [] };
}

function firstLine(s: string): string {
  return s.split('\n')[0];
}

type Located = Node | Pair | null | undefined;

/**
 * A file of thousands of mistakes (20 000 routes naming an unknown service took minutes to
 * describe) is answered with its first problems, quickly.
 */
const MAX_PROBLEMS = 100;

class Reader {
  readonly problems: ConfigProblem[] = [];
  /** every name under services:, valid URL or not, so a bad URL is reported once, not again per route */
  private readonly declaredServices = new Set<string>();
  private readonly sandboxes = new Set<string>();
  /** upstreams whose long form says redirects: keep (the rest rewrite, DEFAULTS.redirects) */
  private readonly redirects: Record<string, RedirectMode> = {};
  constructor(
    private readonly file: string,
    private readonly lines: LineCounter,
    private readonly env: NodeJS.ProcessEnv,
  ) {}

  report(node: Located, at: string, message: string): void {
    if (this.problems.length > MAX_PROBLEMS) return;
    const offset = offsetOf(node);
    const pos = offset === undefined ? { line: 1, col: 1 } : this.lines.linePos(offset);
    if (this.problems.length === MAX_PROBLEMS) {
      this.problems.push({ file: this.file, line: pos.line, column: pos.col, path: '', message: `more than ${MAX_PROBLEMS} problems, the rest are not listed: fix these first, then run strangler check again` });
      return;
    }
    this.problems.push({ file: this.file, line: pos.line, column: pos.col, path: at, message });
  }

  /** past MAX_PROBLEMS nothing more is reported, so the readers of long lists stop early */
  get full(): boolean {
    return this.problems.length > MAX_PROBLEMS;
  }

  readTop(root: YAMLMap): Config {
    this.assertKeys(root, '', KNOWN_KEYS.top);
    const listen = this.readListen(root);
    const legacy = this.readLegacy(root);
    const services = this.readServices(root);
    const flags = this.readFlags(root);
    const context = this.readContext(root);
    const testersNode = this.child(root, 'testers');
    const testers = { secret: '' };
    if (testersNode && this.assertMap(testersNode, 'testers')) {
      this.assertKeys(testersNode as YAMLMap, 'testers', KNOWN_KEYS.testers);
      testers.secret = this.readString(testersNode as YAMLMap, 'secret', 'testers.secret') ?? '';
      // empty switches x-strangler-force off; a short secret would be guessed like a short admin token
      if (testers.secret && testers.secret.length < 16) {
        this.report(this.child(testersNode as YAMLMap, 'secret'), 'testers.secret', 'a secret must be at least 16 characters; generate one with: openssl rand -hex 24 (or leave it empty to ignore x-strangler-force)');
      }
    }
    const upstreamTimeoutMs = this.readDuration(root, 'upstreamTimeout') ?? DEFAULTS.upstreamTimeoutMs;
    const targetHeader = this.readBoolean(root, 'targetHeader') ?? DEFAULTS.targetHeader;
    let level: string = DEFAULTS.logLevel;
    const logNode = this.child(root, 'log');
    if (logNode && this.assertMap(logNode, 'log')) {
      this.assertKeys(logNode as YAMLMap, 'log', KNOWN_KEYS.log);
      const l = this.readString(logNode as YAMLMap, 'level', 'log.level');
      if (l !== undefined) {
        if ((LOG_LEVELS as readonly string[]).includes(l)) level = l;
        else this.report(this.child(logNode as YAMLMap, 'level'), 'log.level', `unknown level "${l}"; write one of ${LOG_LEVELS.join(', ')}`);
      }
    }
    const routes = this.readRoutes(root, services, this.declaredServices);
    const comparisons = this.readComparisons(root);
    const breaker = this.readBreaker(root);
    const limits = this.readLimits(root);
    const forwarded = this.readForwarded(root);
    const paths = this.readPaths(root);
    const admin = this.readAdmin(root);
    const recording = this.readRecording(root);
    if (!recording) {
      const recorded = routes.find((r) => r.record > 0);
      if (recorded) this.report(root, 'recording', `route "${recorded.name}" (line ${recorded.line}) sets record: but there is no recording: section; add recording: { file: var/recordings/traffic.jsonl }`);
    }
    return deepFreeze({
      file: this.file,
      listen,
      legacy: legacy ?? new URL('http://127.0.0.1:8000'),
      services,
      sandboxes: [...this.sandboxes],
      redirects: Object.fromEntries(['legacy', ...Object.keys(services)].map((name) => [name, this.redirects[name] ?? DEFAULTS.redirects])),
      comparisons,
      recording,
      breaker,
      limits,
      forwarded,
      paths,
      admin,
      flags,
      context,
      testers,
      upstreamTimeoutMs,
      targetHeader,
      log: { level },
      routes,
    });
  }

  private readListen(root: YAMLMap, at = 'listen', fallback: string = DEFAULTS.listen): Config['listen'] {
    const raw = this.readString(root, 'listen', at) ?? fallback;
    const m = /^(\[[^\]]+\]|[^:]+):(\d{1,5})$/.exec(raw);
    const port = m ? Number(m[2]) : NaN;
    if (!m || port > 65535) {
      this.report(this.child(root, 'listen') ?? root, at, `"${raw}" is not host:port; write e.g. listen: ${fallback} (port 0 picks a free one)`);
      return { host: '127.0.0.1', port: 8080 };
    }
    return { host: m[1].replace(/^\[|\]$/g, ''), port };
  }

  private readAdmin(root: YAMLMap): Config['admin'] {
    const node = this.child(root, 'admin');
    if (node === undefined || !this.assertMap(node, 'admin')) return null;
    const map = node as YAMLMap;
    this.assertKeys(map, 'admin', KNOWN_KEYS.admin);
    const listen = this.readListen(map, 'admin.listen', '127.0.0.1:9090');
    const readToken = this.readString(map, 'readToken', 'admin.readToken') ?? '';
    const operatorToken = this.readString(map, 'operatorToken', 'admin.operatorToken') ?? '';
    if (!readToken && !operatorToken) {
      this.report(map, 'admin', 'give at least one token: operatorToken: ${STRANGLER_ADMIN_TOKEN} (may change routes) and readToken: ${STRANGLER_ADMIN_READ_TOKEN} (may only read)');
    } else if (readToken && readToken === operatorToken) {
      this.report(this.child(map, 'readToken'), 'admin.readToken', 'the read token and the operator token must differ, or reading would allow changing');
    }
    for (const [key, token] of [['readToken', readToken], ['operatorToken', operatorToken]] as const) {
      if (token && token.length < 16) this.report(this.child(map, key), `admin.${key}`, 'a token must be at least 16 characters; generate one with: openssl rand -hex 24');
    }
    return { listen, readToken, operatorToken };
  }

  private readServices(root: YAMLMap): Record<string, URL> {
    const out: Record<string, URL> = {};
    const node = this.child(root, 'services');
    if (node === undefined) return out;
    if (!this.assertMap(node, 'services')) return out;
    for (const pair of (node as YAMLMap).items) {
      const name = isScalar(pair.key) ? String(pair.key.value) : '';
      if (!ROUTE_NAME.test(name)) {
        this.report(pair.key as Node, `services.${name}`, `service name "${name}" must be lower-case letters, digits and dashes, e.g. rooms`);
        continue;
      }
      if (name === 'legacy') {
        this.report(pair.key as Node, 'services.legacy', '"legacy" is the monolith, set with the top-level legacy: key; give the service another name');
        continue;
      }
      this.declaredServices.add(name);
      let urlNode = pair.value as Node;
      if (isMap(urlNode)) {
        // long form: { url: http://…, sandbox: true } marks a copy of the service that may take writes
        const map = urlNode;
        this.assertKeys(map, `services.${name}`, KNOWN_KEYS.service);
        if (this.readBoolean(map, 'sandbox', `services.${name}.sandbox`)) this.sandboxes.add(name);
        this.readRedirects(map, name, `services.${name}.redirects`);
        const u = this.child(map, 'url');
        if (u === undefined) {
          this.report(map, `services.${name}.url`, 'missing; write url: http://127.0.0.1:3102');
          continue;
        }
        urlNode = u;
      }
      const url = this.parseUrl(urlNode, `services.${name}`);
      if (url) out[name] = url;
    }
    return out;
  }

  /** legacy: http://… or the long form legacy: { url: http://…, redirects: keep } */
  private readLegacy(root: YAMLMap): URL | undefined {
    const node = this.child(root, 'legacy');
    if (!isMap(node)) return this.readUrl(root, 'legacy', 'legacy', true);
    this.assertKeys(node, 'legacy', KNOWN_KEYS.legacy);
    this.readRedirects(node, 'legacy', 'legacy.redirects');
    return this.readUrl(node, 'url', 'legacy.url', true);
  }

  private readRedirects(map: YAMLMap, upstream: string, at: string): void {
    const mode = this.readString(map, 'redirects', at);
    if (mode === undefined) return;
    const known = REDIRECT_MODES.find((m) => m === mode);
    if (known) this.redirects[upstream] = known;
    else this.report(this.child(map, 'redirects'), at, `unknown mode "${mode}"; write rewrite (a Location naming this upstream's own address is sent as the proxy's, the default) or keep (sent as the upstream wrote it)`);
  }

  private readFlags(root: YAMLMap): FlagsConfig {
    const fileDefault = path.resolve(path.dirname(this.file), DEFAULTS.flagsFile);
    const envUrl = this.env.UNLEASH_URL;
    const node = this.child(root, 'flags');
    let flags: FlagsConfig = { kind: 'file', file: fileDefault };
    if (node !== undefined && this.assertMap(node, 'flags')) {
      const map = node as YAMLMap;
      this.assertKeys(map, 'flags', KNOWN_KEYS.flags);
      const unleash = this.child(map, 'unleash');
      if (this.child(map, 'file') !== undefined && unleash !== undefined) {
        this.report(unleash, 'flags.unleash', 'give either flags.file (local mode) or flags.unleash (server mode), not both');
      }
      const file = this.readString(map, 'file', 'flags.file');
      if (file !== undefined) flags = { kind: 'file', file: path.resolve(path.dirname(this.file), file) };
      if (unleash !== undefined && this.assertMap(unleash, 'flags.unleash')) {
        const u = unleash as YAMLMap;
        this.assertKeys(u, 'flags.unleash', KNOWN_KEYS.unleash);
        const url = this.readUrl(u, 'url', 'flags.unleash.url', true, true);
        const token = this.readString(u, 'token', 'flags.unleash.token');
        if (!token) this.report(u, 'flags.unleash.token', 'missing; write token: ${UNLEASH_API_TOKEN} and export a client token of your Unleash server');
        flags = {
          kind: 'unleash',
          url: url?.toString() ?? '',
          token: token ?? '',
          appName: this.readString(u, 'appName', 'flags.unleash.appName') ?? DEFAULTS.unleashAppName,
          refreshMs: this.readDuration(u, 'refreshInterval', 'flags.unleash.refreshInterval') ?? DEFAULTS.unleashRefreshMs,
          backupDir: path.resolve(path.dirname(this.file), this.readString(u, 'backupDir', 'flags.unleash.backupDir') ?? 'var/unleash-backup'),
          adminToken: this.readString(u, 'adminToken', 'flags.unleash.adminToken') ?? this.env.UNLEASH_ADMIN_TOKEN ?? '',
          project: this.readString(u, 'project', 'flags.unleash.project') ?? 'default',
          environment: this.readString(u, 'environment', 'flags.unleash.environment') ?? 'development',
        };
      }
    }
    // UNLEASH_URL + UNLEASH_API_TOKEN switch any config to server mode without editing the file.
    if (envUrl) {
      if (!this.env.UNLEASH_API_TOKEN) {
        this.report(node ?? root, 'flags', 'UNLEASH_URL is set but UNLEASH_API_TOKEN is not; export both, or unset UNLEASH_URL for local-file mode');
      } else if (!URL.canParse(envUrl)) {
        this.report(node ?? root, 'flags', `UNLEASH_URL "${envUrl}" is not a URL; write e.g. http://127.0.0.1:4242/api`);
      } else {
        flags = {
          kind: 'unleash',
          url: envUrl,
          token: this.env.UNLEASH_API_TOKEN,
          appName: flags.kind === 'unleash' ? flags.appName : DEFAULTS.unleashAppName,
          refreshMs: flags.kind === 'unleash' ? flags.refreshMs : DEFAULTS.unleashRefreshMs,
          backupDir: flags.kind === 'unleash' ? flags.backupDir : path.resolve(path.dirname(this.file), 'var/unleash-backup'),
          adminToken: flags.kind === 'unleash' ? flags.adminToken : (this.env.UNLEASH_ADMIN_TOKEN ?? ''),
          project: flags.kind === 'unleash' ? flags.project : 'default',
          environment: flags.kind === 'unleash' ? flags.environment : 'development',
        };
      }
    }
    return flags;
  }

  private readContext(root: YAMLMap): ContextConfig {
    const ctx: ContextConfig = { userId: DEFAULTS.userId, sessionId: DEFAULTS.sessionId, properties: {} };
    const node = this.child(root, 'context');
    if (node === undefined || !this.assertMap(node, 'context')) return ctx;
    const map = node as YAMLMap;
    this.assertKeys(map, 'context', KNOWN_KEYS.context);
    const userId = this.readSource(map, 'userId', 'context.userId');
    const sessionId = this.readSource(map, 'sessionId', 'context.sessionId');
    const properties: Record<string, RequestSource> = {};
    const props = this.child(map, 'properties');
    if (props !== undefined && this.assertMap(props, 'context.properties')) {
      for (const pair of (props as YAMLMap).items) {
        const name = isScalar(pair.key) ? String(pair.key.value) : '';
        const src = this.readSource(props as YAMLMap, name, `context.properties.${name}`);
        if (src) properties[name] = src;
      }
    }
    return { userId: userId ?? ctx.userId, sessionId: sessionId ?? ctx.sessionId, properties };
  }

  private readSource(map: YAMLMap, key: string, at: string): RequestSource | undefined {
    const node = this.child(map, key);
    if (node === undefined) return undefined;
    const fix = `write ${key}: { header: x-user-id }, ${key}: { cookie: PHPSESSID } or ${key}: { cookiePrefix: wordpress_logged_in_ }`;
    if (!isMap(node)) {
      this.report(node, at, `must be a mapping; ${fix}`);
      return undefined;
    }
    this.assertKeys(node, at, KNOWN_KEYS.source);
    const header = this.readString(node, 'header', `${at}.header`);
    const cookie = this.readString(node, 'cookie', `${at}.cookie`);
    const cookiePrefix = this.readString(node, 'cookiePrefix', `${at}.cookiePrefix`);
    const given = [header, cookie, cookiePrefix].filter((v) => v !== undefined).length;
    if (given !== 1) {
      this.report(node, at, `give exactly one of header, cookie or cookiePrefix; ${fix}`);
      return undefined;
    }
    if (header !== undefined) return { header: header.toLowerCase() };
    if (cookie !== undefined) {
      // a cookie name is matched exactly: "wordpress_logged_in_*" would never be found
      if (cookie.endsWith('*')) {
        const start = cookie.replace(/\*+$/, '');
        this.report(this.child(node, 'cookie'), `${at}.cookie`, `a cookie name is matched exactly; for the first cookie whose name starts with "${start}" write cookiePrefix: ${start}`);
        return undefined;
      }
      return { cookie };
    }
    if (!/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(cookiePrefix as string)) {
      this.report(this.child(node, 'cookiePrefix'), `${at}.cookiePrefix`, `"${cookiePrefix}" is not the start of a cookie name (letters, digits and !#$%&'*+-.^_\`|~, at least one); write e.g. cookiePrefix: wordpress_logged_in_`);
      return undefined;
    }
    return { cookiePrefix: cookiePrefix as string };
  }

  private readRoutes(root: YAMLMap, services: Record<string, URL>, declared: ReadonlySet<string>): RouteConfig[] {
    const node = this.child(root, 'routes');
    if (node === undefined) {
      // never "no routes" by default: that is what a file cut short while being written looks like
      this.report(root, 'routes', 'missing; add routes: with "- name: …", "match: GET /path", "service: …" entries, or routes: [] for none. A file without routes: is often one cut short while it was written: check its end');
      return [];
    }
    if (!isSeq(node)) {
      this.report(node, 'routes', 'must be a list; write each route as "- name: ...", "match: GET /path", "service: ..."');
      return [];
    }
    const routes: RouteConfig[] = [];
    const byName = new Map<string, number>();
    const byMatch = new Map<string, { name: string; line: number }>();
    node.items.forEach((item, i) => {
      if (this.full) return;
      const at = `routes[${i}]`;
      if (!isMap(item)) {
        this.report(item as Node, at, 'a route is a mapping with name, match and service');
        return;
      }
      this.assertKeys(item, at, KNOWN_KEYS.route);
      const line = this.lines.linePos(offsetOf(item) ?? 0).line;
      const name = this.readString(item, 'name', `${at}.name`);
      const match = this.readString(item, 'match', `${at}.match`);
      const service = this.readString(item, 'service', `${at}.service`);
      const flag = this.readString(item, 'flag', `${at}.flag`);
      if (name === undefined) this.report(item, `${at}.name`, 'missing; add name: <lower-case-with-dashes>, e.g. name: rooms-list');
      else if (!ROUTE_NAME.test(name)) this.report(this.child(item, 'name'), `${at}.name`, `"${name}" must be lower-case letters, digits and dashes, e.g. rooms-list`);
      else if (byName.has(name)) this.report(this.child(item, 'name'), `${at}.name`, `duplicate route name "${name}" (first used on line ${byName.get(name)}); route names must be unique, rename one`);
      else byName.set(name, line);

      if (service === undefined) this.report(item, `${at}.service`, `missing; add service: <one of ${[...declared].join(', ') || 'the names under services:'}>`);
      else if (!declared.has(service)) {
        const known = [...declared];
        const guess = closest(service, known);
        this.report(
          this.child(item, 'service'),
          `${at}.service`,
          `unknown service "${service}"; ${guess ? `did you mean "${guess}"? ` : ''}${known.length ? `services are: ${known.join(', ')}` : 'declare it under services: first, e.g. services: { rooms: http://127.0.0.1:3101 }'}`,
        );
      }

      let parsed: { methods: string[]; path: string } | undefined;
      if (match === undefined) this.report(item, `${at}.match`, 'missing; add match: "GET /api/rooms/:id" (method, space, path)');
      else {
        const result = parseMatch(match);
        if (typeof result === 'string') this.report(this.child(item, 'match'), `${at}.match`, result);
        else parsed = result;
      }
      const query = this.readQuery(item, at);
      if (parsed && query) {
        const conditions = describeQuery(query);
        for (const method of parsed.methods) {
          // the same conditions in another order are the same route
          const key = `${method} ${parsed.path.replace(/:[^/]+/g, ':')} ${JSON.stringify(Object.entries(query).sort(([a], [b]) => (a < b ? -1 : 1)))}`;
          const prev = byMatch.get(key);
          if (prev) {
            this.report(this.child(item, 'match'), `${at}.match`, `"${method} ${parsed.path}${conditions}" is already matched by route "${prev.name}" (line ${prev.line}); each method and path (and query) may belong to one route only, remove or change one`);
          } else byMatch.set(key, { name: name ?? at, line });
        }
      }
      const stage = this.readStage(item, at);
      const shadow = this.readShadow(item, at, parsed?.methods ?? []);
      const compare = this.readCompare(item, at);
      const record = this.readPercent(item, 'record', `${at}.record`) ?? 0;
      const limit = this.readRouteLimit(item, at);
      const rollout = this.readRollout(item, at);
      if (service && this.sandboxes.has(service)) {
        this.report(this.child(item, 'service'), `${at}.service`, `"${service}" is a sandbox (it only takes copies of writes); name the real service here and the sandbox under shadow.writes`);
      }
      if (name && parsed && query && service && services[service] && stage && shadow && compare) {
        routes.push({ name, methods: parsed.methods, path: parsed.path, query, service, flag: flag ?? name, line, stage, shadow, compare, record, limit, rollout: rollout ?? null });
      }
    });
    return routes;
  }

  /**
   * `query: { rest_route: /wp/v2/posts/:id }`, or per parameter the long form `{ value | regex,
   * ignoreCase }`: names as PHP's $_GET holds them, values that can match something.
   */
  private readQuery(item: YAMLMap, at: string): Record<string, QueryCondition> | undefined {
    const node = this.child(item, 'query');
    const query: Record<string, QueryCondition> = {};
    if (node === undefined) return query;
    const where = `${at}.query`;
    const example = 'e.g. query: { rest_route: /wp/v2/categories }';
    if (!isMap(node) || node.items.length === 0) {
      this.report(node, where, `must be a mapping of query parameters to values, ${example}`);
      return undefined;
    }
    const before = this.problems.length;
    for (const pair of node.items) {
      const name = isScalar(pair.key) ? String(pair.key.value) : '';
      const atName = `${where}.${name}`;
      // PHP stores "rest.route" and "rest route" as rest_route, and "a[b]" as an array
      const php = name.replace(/^ +/, '').replace(/[ .]/g, '_');
      if (!name || /[\x00-\x1f\x7f[]/.test(name)) {
        this.report(pair.key as Node, atName, `"${name}" is not a parameter name PHP's $_GET can hold a text value under (no brackets or control characters); ${example}`);
        continue;
      }
      if (php !== name) {
        this.report(pair.key as Node, atName, `PHP reads the parameter "${name}" as "${php}" (spaces and dots become _); write ${php}`);
        continue;
      }
      const condition = this.readQueryCondition(pair.value as Node | null, atName);
      if (condition) query[name] = condition;
    }
    return this.problems.length === before ? query : undefined;
  }

  private readQueryCondition(node: Node | null, at: string): QueryCondition | undefined {
    let condition: QueryCondition | undefined;
    if (isScalar(node) && (typeof node.value === 'string' || typeof node.value === 'number')) condition = { value: String(node.value), ignoreCase: false };
    else if (isMap(node)) {
      this.assertKeys(node, at, KNOWN_KEYS.queryCondition);
      const value = this.readString(node, 'value', `${at}.value`);
      const regex = this.readString(node, 'regex', `${at}.regex`);
      const ignoreCase = this.readBoolean(node, 'ignoreCase', `${at}.ignoreCase`) ?? false;
      if ((value === undefined) === (regex === undefined)) {
        this.report(node, at, 'give exactly one of value or regex, e.g. { value: /wp/v2/posts/:id } or { regex: "^/wp/v2/categories/?$", ignoreCase: true }');
        return undefined;
      }
      condition = value !== undefined ? { value, ignoreCase } : { regex: regex as string, ignoreCase };
    } else {
      this.report(node, at, 'must be the value (text), or { value: …, ignoreCase: true } or { regex: …, ignoreCase: true }');
      return undefined;
    }
    if ('value' in condition) {
      const bad = findBadPlaceholder(condition.value);
      if (bad !== undefined) {
        this.report(node, at, `"${bad}" is not a placeholder; a whole segment written :name (letters, digits, _) matches any one segment, e.g. /wp/v2/posts/:id`);
        return undefined;
      }
      if (/[\x00-\x1f\x7f]/.test(condition.value)) {
        this.report(node, at, 'a value with a control character can never match: a request carrying one is refused (STRANGLER_ERR_UNREADABLE_QUERY)');
        return undefined;
      }
    } else {
      try {
        buildQueryPattern(condition);
      } catch (err) {
        this.report(node, at, `"${condition.regex}" is not a regular expression (${(err as Error).message}); write e.g. regex: "^/wp/v2/categories/?$"`);
        return undefined;
      }
    }
    return condition;
  }

  private readStage(item: YAMLMap, at: string): RouteStage | undefined {
    const raw = this.readString(item, 'stage', `${at}.stage`);
    if (raw === undefined) return DEFAULTS.stage;
    if ((STAGES as readonly string[]).includes(raw)) return raw as RouteStage;
    const guess = closest(raw, STAGES);
    this.report(this.child(item, 'stage'), `${at}.stage`, `unknown stage "${raw}"; ${guess ? `did you mean "${guess}"? ` : ''}write one of ${STAGES.join(', ')}`);
    return undefined;
  }

  private readShadow(item: YAMLMap, at: string, methods: readonly string[]): ShadowConfig | undefined {
    const d = DEFAULTS.shadow;
    const shadow: ShadowConfig = { ...d, writes: null, reverse: false };
    const node = this.child(item, 'shadow');
    if (node === undefined) return shadow;
    const where = `${at}.shadow`;
    if (!this.assertMap(node, where)) return undefined;
    const map = node as YAMLMap;
    const before = this.problems.length;
    this.assertKeys(map, where, KNOWN_KEYS.shadow);
    shadow.sample = this.readPercent(map, 'sample', `${where}.sample`) ?? d.sample;
    shadow.timeoutMs = this.readDuration(map, 'timeout', `${where}.timeout`) ?? d.timeoutMs;
    shadow.maxRequestBody = this.readSize(map, 'maxRequestBody', `${where}.maxRequestBody`) ?? d.maxRequestBody;
    shadow.noiseSample = this.readPercent(map, 'noiseSample', `${where}.noiseSample`) ?? d.noiseSample;
    shadow.noiseWarmup = this.readCount(map, 'noiseWarmup', `${where}.noiseWarmup`) ?? d.noiseWarmup;
    shadow.noiseDelayMs = this.readDuration(map, 'noiseDelay', `${where}.noiseDelay`, true) ?? d.noiseDelayMs;
    shadow.reverse = this.readBoolean(map, 'reverse', `${where}.reverse`) ?? false;
    const writes = this.readString(map, 'writes', `${where}.writes`);
    if (writes !== undefined) {
      if (!this.sandboxes.has(writes)) {
        // the one way to get a write copied: a service explicitly declared as a sandbox
        this.report(
          this.child(map, 'writes'),
          `${where}.writes`,
          `"${writes}" is not a sandbox; copies of writes go only to a service declared with sandbox: true, e.g. services: { ${writes}-sandbox: { url: http://127.0.0.1:3102, sandbox: true } }`,
        );
      } else shadow.writes = writes;
    } else if (methods.length > 0 && methods.every((m) => !SAFE_METHODS.has(m))) {
      this.report(map, where, `this route matches only writes (${methods.join(', ')}), which are never copied without a sandbox; add writes: <a service with sandbox: true>, or remove shadow:`);
    }
    return this.problems.length === before ? shadow : undefined;
  }

  private readCompare(item: YAMLMap, at: string): RulesInput | undefined {
    const node = this.child(item, 'compare');
    if (node === undefined) return {};
    const raw = node.toJSON() as unknown;
    const problems = validateRules(raw);
    for (const problem of problems) this.report(node, `${at}.compare`, problem);
    return problems.length === 0 ? (raw as RulesInput) : undefined;
  }

  private readComparisons(root: YAMLMap): ComparisonsConfig {
    const d = DEFAULTS.comparisons;
    const out: ComparisonsConfig = {
      database: d.database,
      retentionMs: d.retentionMs,
      maxRows: d.maxRows,
      maxConcurrent: d.maxConcurrent,
      captureLimit: d.captureLimit,
      storedBodyLimit: d.storedBodyLimit,
      redact: { fields: [], headers: [], patterns: [] },
    };
    const node = this.child(root, 'comparisons');
    if (node !== undefined && this.assertMap(node, 'comparisons')) {
      const map = node as YAMLMap;
      this.assertKeys(map, 'comparisons', KNOWN_KEYS.comparisons);
      out.database = this.readDatabaseUrl(map) ?? d.database;
      out.retentionMs = this.readDuration(map, 'retention', 'comparisons.retention') ?? d.retentionMs;
      out.maxRows = this.readCount(map, 'maxRows', 'comparisons.maxRows') ?? d.maxRows;
      out.maxConcurrent = this.readCount(map, 'maxConcurrent', 'comparisons.maxConcurrent') ?? d.maxConcurrent;
      out.captureLimit = this.readSize(map, 'captureLimit', 'comparisons.captureLimit') ?? d.captureLimit;
      out.storedBodyLimit = this.readSize(map, 'storedBodyLimit', 'comparisons.storedBodyLimit') ?? d.storedBodyLimit;
      const redact = this.child(map, 'redact');
      if (redact !== undefined && this.assertMap(redact, 'comparisons.redact')) {
        this.assertKeys(redact as YAMLMap, 'comparisons.redact', KNOWN_KEYS.redact);
        out.redact = {
          fields: this.readStringList(redact as YAMLMap, 'fields', 'comparisons.redact.fields') ?? [],
          headers: (this.readStringList(redact as YAMLMap, 'headers', 'comparisons.redact.headers') ?? []).map((h) => h.toLowerCase()),
          patterns: this.readStringList(redact as YAMLMap, 'patterns', 'comparisons.redact.patterns') ?? [],
        };
        // a pattern of only "_" and "-" would be found in every name and hide everything
        if (out.redact.patterns.some((p) => !/[^_-]/.test(p))) this.report(this.child(redact as YAMLMap, 'patterns'), 'comparisons.redact.patterns', 'a pattern needs a letter or digit, e.g. [iban, pin]');
      }
    }
    const envDatabase = this.env.STRANGLER_DATABASE_URL;
    if (envDatabase) out.database = envDatabase;
    if (out.database.startsWith('sqlite:')) {
      // relative SQLite paths are relative to routes.yaml, like flags.file
      const file = out.database.slice('sqlite:'.length).replace(/^\/\//, '');
      out.database = `sqlite:${path.resolve(path.dirname(this.file), file)}`;
    }
    return out;
  }

  private readDatabaseUrl(map: YAMLMap): string | undefined {
    const raw = this.readString(map, 'database', 'comparisons.database');
    if (raw === undefined) return undefined;
    if (/^sqlite:.+/.test(raw) || /^mysql:\/\/[^/]+\/[^/]+$/.test(raw)) return raw;
    this.report(this.child(map, 'database'), 'comparisons.database', `"${raw}" is not a database URL; write sqlite:var/strangler.sqlite or mysql://user:password@host:3306/dbname`);
    return undefined;
  }

  private readBreaker(root: YAMLMap): Config['breaker'] {
    const d = DEFAULTS.breaker;
    const node = this.child(root, 'breaker');
    if (node === undefined || !this.assertMap(node, 'breaker')) return { ...d };
    const map = node as YAMLMap;
    this.assertKeys(map, 'breaker', KNOWN_KEYS.breaker);
    const failures = this.readCount(map, 'failures', 'breaker.failures') ?? d.failures;
    if (failures < 1) this.report(this.child(map, 'failures'), 'breaker.failures', 'must be at least 1 (consecutive failures that open the breaker)');
    return { failures, openForMs: this.readDuration(map, 'openFor', 'breaker.openFor') ?? d.openForMs };
  }

  private readLimits(root: YAMLMap): Config['limits'] {
    const d = DEFAULTS.limits;
    const node = this.child(root, 'limits');
    if (node === undefined || !this.assertMap(node, 'limits')) return { ...d };
    const map = node as YAMLMap;
    this.assertKeys(map, 'limits', KNOWN_KEYS.limits);
    return {
      maxConcurrent: this.readCount(map, 'maxConcurrent', 'limits.maxConcurrent') ?? d.maxConcurrent,
      ratePerS: this.readRate(map, 'limits.rate') ?? d.ratePerS,
      maxEventLoopDelayMs: this.readDuration(map, 'maxEventLoopDelay', 'limits.maxEventLoopDelay', true) ?? d.maxEventLoopDelayMs,
      retryAfterS: Math.max(1, Math.round((this.readDuration(map, 'retryAfter', 'limits.retryAfter') ?? d.retryAfterS * 1000) / 1000)),
      maxConnections: this.readPositive(map, 'maxConnections', 'limits.maxConnections') ?? d.maxConnections,
      headerTimeoutMs: this.readDuration(map, 'headerTimeout', 'limits.headerTimeout') ?? d.headerTimeoutMs,
      bodyTimeoutMs: this.readDuration(map, 'bodyTimeout', 'limits.bodyTimeout') ?? d.bodyTimeoutMs,
      maxRequestBody: this.readSize(map, 'maxRequestBody', 'limits.maxRequestBody') ?? d.maxRequestBody,
      sendTimeoutMs: this.readDuration(map, 'sendTimeout', 'limits.sendTimeout') ?? d.sendTimeoutMs,
      keepAliveTimeoutMs: this.readDuration(map, 'keepAliveTimeout', 'limits.keepAliveTimeout') ?? d.keepAliveTimeoutMs,
      maxTargetLength: this.readSize(map, 'maxTargetLength', 'limits.maxTargetLength') ?? d.maxTargetLength,
      maxHeaderSize: this.readSize(map, 'maxHeaderSize', 'limits.maxHeaderSize') ?? d.maxHeaderSize,
      responseBuffer: this.readSize(map, 'responseBuffer', 'limits.responseBuffer') ?? d.responseBuffer,
      maxWebSockets: this.readCount(map, 'maxWebSockets', 'limits.maxWebSockets') ?? d.maxWebSockets,
      webSocketIdleTimeoutMs: this.readDuration(map, 'webSocketIdleTimeout', 'limits.webSocketIdleTimeout') ?? d.webSocketIdleTimeoutMs,
    };
  }

  private readPositive(map: YAMLMap, key: string, at: string): number | undefined {
    const n = this.readCount(map, key, at);
    if (n !== 0) return n;
    this.report(this.child(map, key), at, 'must be a whole number > 0');
    return undefined;
  }

  private readForwarded(root: YAMLMap): Config['forwarded'] {
    const node = this.child(root, 'forwarded');
    if (node === undefined || !this.assertMap(node, 'forwarded')) return { trust: [] };
    const map = node as YAMLMap;
    this.assertKeys(map, 'forwarded', KNOWN_KEYS.forwarded);
    const trust = this.readStringList(map, 'trust', 'forwarded.trust') ?? [];
    for (const entry of trust) {
      if (!isAddressOrCidr(entry)) this.report(this.child(map, 'trust'), 'forwarded.trust', `"${entry}" is not an IP address or CIDR; write e.g. [10.0.0.0/8, 127.0.0.1, "::1"]`);
    }
    return { trust };
  }

  private readPaths(root: YAMLMap): Config['paths'] {
    const d = DEFAULTS.paths;
    const node = this.child(root, 'paths');
    if (node === undefined || !this.assertMap(node, 'paths')) return { ...d };
    const map = node as YAMLMap;
    this.assertKeys(map, 'paths', KNOWN_KEYS.paths);
    let escapedSlashes: Config['paths']['escapedSlashes'] = d.escapedSlashes;
    const action = this.readString(map, 'escapedSlashes', 'paths.escapedSlashes');
    if (action !== undefined) {
      const known = ESCAPED_SLASH_ACTIONS.find((a) => a === action);
      if (known) escapedSlashes = known;
      else this.report(this.child(map, 'escapedSlashes'), 'paths.escapedSlashes', `unknown action "${action}"; write decode (read %2F, %5C and \\ as /, the default), reject (answer 400) or keep (pass them on as sent)`);
    }
    return {
      normalize: this.readBoolean(map, 'normalize', 'paths.normalize') ?? d.normalize,
      mergeSlashes: this.readBoolean(map, 'mergeSlashes', 'paths.mergeSlashes') ?? d.mergeSlashes,
      escapedSlashes,
    };
  }

  private readRouteLimit(item: YAMLMap, at: string): RouteConfig['limit'] {
    const node = this.child(item, 'limit');
    const none = { concurrent: 0, ratePerS: 0 };
    if (node === undefined || !this.assertMap(node, `${at}.limit`)) return none;
    const map = node as YAMLMap;
    this.assertKeys(map, `${at}.limit`, KNOWN_KEYS.routeLimit);
    const concurrent = this.readCount(map, 'concurrent', `${at}.limit.concurrent`) ?? 0;
    return { concurrent, ratePerS: this.readRate(map, `${at}.limit.rate`) ?? 0 };
  }

  /** `rate: 200/s` or `600/m` → per second; 0 means no limit */
  private readRate(map: YAMLMap, at: string): number | undefined {
    const rate = this.child(map, 'rate');
    if (rate === undefined) return undefined;
    const raw = isScalar(rate) ? String(rate.value) : '';
    const m = /^(\d+(?:\.\d+)?)\s*(?:\/\s*(s|m))?$/.exec(raw.trim());
    if (!m) {
      this.report(rate, at, `"${raw}" is not a rate; write e.g. rate: 200/s or 600/m (0 = no limit)`);
      return undefined;
    }
    return Number(m[1]) / (m[2] === 'm' ? 60 : 1);
  }

  private readRollout(item: YAMLMap, at: string): RouteConfig['rollout'] | undefined {
    const node = this.child(item, 'rollout');
    const where = `${at}.rollout`;
    if (node === undefined || !this.assertMap(node, where)) return undefined;
    const map = node as YAMLMap;
    this.assertKeys(map, where, KNOWN_KEYS.rollout);
    const d = DEFAULTS.rollout;
    const stepsNode = this.child(map, 'steps');
    let steps: number[] = [];
    if (stepsNode === undefined) this.report(map, `${where}.steps`, 'missing; write steps: [1, 5, 25, 50, 100]');
    else if (!isSeq(stepsNode) || !stepsNode.items.every((i) => isScalar(i) && Number.isInteger(i.value) && (i.value as number) >= 1 && (i.value as number) <= 100)) {
      this.report(stepsNode, `${where}.steps`, 'must be a list of whole percentages from 1 to 100, e.g. [1, 5, 25, 50, 100]');
    } else {
      steps = stepsNode.items.map((i) => (i as { value: number }).value);
      if (steps.some((s, i) => i > 0 && s <= steps[i - 1]) || steps.at(-1) !== 100) {
        this.report(stepsNode, `${where}.steps`, 'steps must rise and end at 100, e.g. [1, 5, 25, 50, 100]');
      }
    }
    let maxP99Ms: number | null = null;
    let maxP99Ratio: number | null = null;
    const p99 = this.child(map, 'maxP99');
    if (p99 !== undefined) {
      const ratio = isScalar(p99) ? /^(\d+(?:\.\d+)?)\s*x$/i.exec(String(p99.value).trim()) : null;
      if (ratio && Number(ratio[1]) >= 1) maxP99Ratio = Number(ratio[1]);
      else if (ratio) this.report(p99, `${where}.maxP99`, 'a ratio to legacy\'s p99 must be at least 1x, e.g. maxP99: 1.5x');
      else maxP99Ms = this.readDuration(map, 'maxP99', `${where}.maxP99`) ?? null;
    }
    let minParity: number | null = null;
    if (this.child(map, 'minParity') !== undefined) {
      const p = this.readPercent(map, 'minParity', `${where}.minParity`);
      minParity = p === undefined ? null : p * 100;
    }
    return {
      steps,
      intervalMs: this.readDuration(map, 'interval', `${where}.interval`) ?? d.intervalMs,
      minRequests: this.readCount(map, 'minRequests', `${where}.minRequests`) ?? d.minRequests,
      maxErrorRate: this.readPercent(map, 'maxErrorRate', `${where}.maxErrorRate`) ?? d.maxErrorRate,
      maxP99Ms,
      maxP99Ratio,
      minParity,
    };
  }

  private readRecording(root: YAMLMap): RecordingConfig | null {
    const node = this.child(root, 'recording');
    if (node === undefined || !this.assertMap(node, 'recording')) return null;
    const map = node as YAMLMap;
    this.assertKeys(map, 'recording', KNOWN_KEYS.recording);
    const file = this.readString(map, 'file', 'recording.file');
    if (file === undefined) {
      this.report(map, 'recording.file', 'missing; write file: var/recordings/traffic.jsonl');
      return null;
    }
    return {
      file: path.resolve(path.dirname(this.file), file),
      maxBody: this.readSize(map, 'maxBody', 'recording.maxBody') ?? DEFAULTS.recording.maxBody,
    };
  }

  /** "10%" or a bare number, both in percent, → 0..1 */
  private readPercent(map: YAMLMap, key: string, at: string): number | undefined {
    const node = this.child(map, key);
    if (node === undefined) return undefined;
    const raw = isScalar(node) ? String(node.value) : '';
    const m = /^(\d+(?:\.\d+)?)\s*%?$/.exec(raw.trim());
    if (!m || Number(m[1]) > 100) {
      this.report(node, at, `"${raw}" is not a share; write a percentage from 0% to 100%, e.g. ${key}: 10%`);
      return undefined;
    }
    return Number(m[1]) / 100;
  }

  /** "64kb", "1mb", "512b" or a bare number of bytes */
  private readSize(map: YAMLMap, key: string, at: string): number | undefined {
    const node = this.child(map, key);
    if (node === undefined) return undefined;
    const raw = isScalar(node) ? String(node.value) : '';
    const m = /^(\d+(?:\.\d+)?)\s*(b|kb|mb)?$/i.exec(raw.trim());
    if (!m) {
      this.report(node, at, `"${raw}" is not a size; write e.g. 64kb or 1mb (a bare number is bytes)`);
      return undefined;
    }
    const unit = (m[2] ?? 'b').toLowerCase();
    return Math.round(Number(m[1]) * (unit === 'mb' ? 1024 * 1024 : unit === 'kb' ? 1024 : 1));
  }

  private readCount(map: YAMLMap, key: string, at: string): number | undefined {
    const node = this.child(map, key);
    if (node === undefined) return undefined;
    if (isScalar(node) && typeof node.value === 'number' && Number.isInteger(node.value) && node.value >= 0) return node.value;
    this.report(node, at, 'must be a whole number >= 0');
    return undefined;
  }

  private readStringList(map: YAMLMap, key: string, at: string): string[] | undefined {
    const node = this.child(map, key);
    if (node === undefined) return undefined;
    if (!isSeq(node) || !node.items.every((i) => isScalar(i) && typeof i.value === 'string')) {
      this.report(node, at, 'must be a list of names, e.g. [password, token]');
      return undefined;
    }
    return node.items.map((i) => String((i as { value: unknown }).value));
  }

  // --- small typed readers -------------------------------------------------------------

  child(map: YAMLMap, key: string): Node | undefined {
    const pair = map.items.find((p) => isScalar(p.key) && p.key.value === key);
    if (!pair) return undefined;
    return (pair.value as Node | null) ?? (pair.key as Node);
  }

  private assertMap(node: Node, at: string): boolean {
    if (isMap(node)) return true;
    this.report(node, at, 'must be a mapping (key: value pairs, indented under it)');
    return false;
  }

  private assertKeys(map: YAMLMap, at: string, known: readonly string[]): void {
    for (const pair of map.items) {
      const key = isScalar(pair.key) ? String(pair.key.value) : '';
      if (known.includes(key)) continue;
      const guess = closest(key, known);
      this.report(
        pair.key as Node,
        at ? `${at}.${key}` : key,
        `unknown key "${key}"; ${guess ? `did you mean "${guess}"? ` : ''}allowed here: ${known.join(', ')}`,
      );
    }
  }

  readString(map: YAMLMap, key: string, at: string): string | undefined {
    const node = this.child(map, key);
    if (node === undefined) return undefined;
    if (!isScalar(node) || (typeof node.value !== 'string' && typeof node.value !== 'number')) {
      this.report(node, at, 'must be a single value (text), not a list or mapping');
      return undefined;
    }
    const expanded = expandEnv(String(node.value), this.env);
    if (typeof expanded !== 'string') {
      this.report(node, at, expanded.problem);
      return undefined;
    }
    return expanded;
  }

  private readBoolean(map: YAMLMap, key: string, at: string = key): boolean | undefined {
    const node = this.child(map, key);
    if (node === undefined) return undefined;
    if (isScalar(node) && typeof node.value === 'boolean') return node.value;
    this.report(node, at, 'must be true or false');
    return undefined;
  }

  private readDuration(map: YAMLMap, key: string, at: string = key, allowZero = false): number | undefined {
    const node = this.child(map, key);
    if (node === undefined) return undefined;
    const raw = isScalar(node) ? String(node.value) : '';
    if (allowZero && /^0+(ms|s|m|h|d)?$/.test(raw.trim())) return 0;
    const ms = parseDuration(raw);
    if (ms === undefined) this.report(node, at, `"${raw}" is not a duration; write e.g. 500ms, 30s, 2m, 12h or 7d (a bare number is milliseconds)`);
    return ms;
  }

  private readUrl(map: YAMLMap, key: string, at: string, required: boolean, allowPath = false): URL | undefined {
    const node = this.child(map, key);
    if (node === undefined) {
      if (required) this.report(map, at, `missing; add ${key}: http://127.0.0.1:8000 (the address of the ${key === 'legacy' ? 'PHP monolith' : 'server'})`);
      return undefined;
    }
    return this.parseUrl(node, at, allowPath);
  }

  private parseUrl(node: Node, at: string, allowPath = false): URL | undefined {
    const raw = isScalar(node) ? expandEnv(String(node.value ?? ''), this.env) : { problem: 'must be a URL' };
    if (typeof raw !== 'string') {
      this.report(node, at, raw.problem);
      return undefined;
    }
    let url: URL | undefined;
    try {
      url = new URL(raw);
    } catch {
      url = undefined;
    }
    if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:') || !url.hostname) {
      this.report(node, at, `"${raw}" is not an http(s) URL; write e.g. http://127.0.0.1:3101`);
      return undefined;
    }
    if (!allowPath && (url.pathname !== '/' || url.search)) {
      this.report(node, at, `"${raw}" has a path or query; upstreams get the request path unchanged, so write only scheme, host and port, e.g. ${url.origin}`);
      return undefined;
    }
    return url;
  }
}

function offsetOf(node: Located): number | undefined {
  if (!node) return undefined;
  if (isPair(node)) return offsetOf(node.key as Node);
  return (node as Node).range?.[0];
}

/** "GET /api/rooms/:id", "GET,HEAD /x" or "* /x" → methods + path, or a message saying what is wrong. */
export function parseMatch(match: string): { methods: string[]; path: string } | string {
  const m = /^\s*([A-Za-z*,]+)\s+(\S+)\s*$/.exec(match);
  const fix = 'write match: "GET /api/rooms/:id" (methods GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS; comma-separated for several; * for all)';
  if (!m) return `"${match}" is not "METHOD /path"; ${fix}`;
  const methods = m[1] === '*' ? [...HTTP_METHODS] : m[1].toUpperCase().split(',').filter(Boolean);
  const bad = methods.filter((x) => !(HTTP_METHODS as readonly string[]).includes(x));
  if (bad.length) return `unknown method ${bad.join(', ')} in "${match}"; ${fix}`;
  const p = m[2];
  if (!p.startsWith('/')) return `path "${p}" must start with /; ${fix}`;
  if (p.includes('?')) return `path "${p}" has a query string; match the path here and the parameters under query:, e.g. match: "GET /" and query: { rest_route: /wp/v2/categories }`;
  if (/:(?![A-Za-z_])/.test(p)) return `path "${p}" has a parameter without a name; write :id`;
  return { methods: [...new Set(methods)], path: p };
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !(value instanceof URL) && !Object.isFrozen(value)) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}
