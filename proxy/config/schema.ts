/**
 * The shape of routes.yaml and its defaults, side by side. validate-config.ts turns a parsed
 * document into this frozen Config or into a list of located problems.
 */

export const DEFAULTS = {
  listen: '127.0.0.1:8080',
  flagsFile: 'flags.json',
  userId: { header: 'x-user-id' },
  sessionId: { cookie: 'PHPSESSID' },
  upstreamTimeoutMs: 30_000,
  targetHeader: true,
  unleashAppName: 'strangler-proxy',
  unleashRefreshMs: 10_000,
  logLevel: 'info',
} as const;

/** Where a context field is read from in the request. */
export type RequestSource = { header: string } | { cookie: string };

export interface RouteConfig {
  /** unique, also the default flag name */
  name: string;
  /** HTTP methods this route matches, upper case */
  methods: readonly string[];
  /** find-my-way path pattern, e.g. /api/rooms/:id */
  path: string;
  /** the candidate upstream (a key of services) */
  service: string;
  /** the Unleash flag that decides the share; defaults to name */
  flag: string;
  /** 1-based line of the route in routes.yaml, for messages */
  line: number;
}

export type FlagsConfig =
  | { kind: 'file'; file: string }
  | {
      kind: 'unleash';
      url: string;
      token: string;
      appName: string;
      refreshMs: number;
      /** folder for unleash-client's backup of the last known flags */
      backupDir: string;
    };

export interface ContextConfig {
  userId: RequestSource;
  sessionId: RequestSource;
  /** Unleash context properties taken from the request */
  properties: Readonly<Record<string, RequestSource>>;
}

export interface Config {
  /** absolute path of the file this came from */
  file: string;
  listen: { host: string; port: number };
  legacy: URL;
  services: Readonly<Record<string, URL>>;
  flags: FlagsConfig;
  context: ContextConfig;
  testers: { secret: string };
  upstreamTimeoutMs: number;
  targetHeader: boolean;
  log: { level: string };
  routes: readonly RouteConfig[];
}

/** Keys allowed at each level; anything else is reported with a "did you mean". */
export const KNOWN_KEYS = {
  top: ['listen', 'legacy', 'services', 'flags', 'context', 'testers', 'upstreamTimeout', 'targetHeader', 'log', 'routes'],
  flags: ['file', 'unleash'],
  unleash: ['url', 'token', 'appName', 'refreshInterval', 'backupDir'],
  context: ['userId', 'sessionId', 'properties'],
  source: ['header', 'cookie'],
  testers: ['secret'],
  log: ['level'],
  route: ['name', 'match', 'service', 'flag'],
} as const;

export const HTTP_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export const ROUTE_NAME = /^[a-z0-9][a-z0-9-]*$/;
