import type { RulesInput } from '../comparison/rules.ts';

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
  stage: 'canary',
  shadow: {
    sample: 1,
    timeoutMs: 5_000,
    maxRequestBody: 1024 * 1024,
    noiseSample: 0.1,
    noiseWarmup: 20,
    noiseDelayMs: 1_000,
  },
  comparisons: {
    database: 'sqlite:var/strangler.sqlite',
    retentionMs: 7 * 24 * 3_600_000,
    maxRows: 100_000,
    maxConcurrent: 64,
    captureLimit: 1024 * 1024,
    storedBodyLimit: 16 * 1024,
  },
  recording: { maxBody: 64 * 1024 },
  breaker: { failures: 5, openForMs: 10_000 },
  rollout: { intervalMs: 5 * 60_000, minRequests: 200, maxErrorRate: 0.005 },
  // The client-facing limits follow Envoy's edge recommendations and nginx's client_*_timeout:
  // https://www.envoyproxy.io/docs/envoy/latest/configuration/best_practices/edge
  limits: {
    maxConcurrent: 10_000,
    ratePerS: 0,
    maxEventLoopDelayMs: 0,
    retryAfterS: 1,
    maxConnections: 20_000,
    headerTimeoutMs: 10_000,
    bodyTimeoutMs: 30_000,
    maxRequestBody: 64 * 1024 * 1024,
    sendTimeoutMs: 30_000,
    keepAliveTimeoutMs: 65_000,
    maxTargetLength: 8 * 1024,
    maxHeaderSize: 16 * 1024,
    responseBuffer: 64 * 1024,
    maxWebSockets: 1_000,
    webSocketIdleTimeoutMs: 10 * 60_000,
  },
  forwarded: { trust: [] as readonly string[] },
  redirects: 'rewrite',
  // escapedSlashes decode: why it is the default is in proxy/routing/normalize-path.ts
  paths: { normalize: true, mergeSlashes: true, escapedSlashes: 'decode' },
} as const;

/**
 * The life of a route: legacy (the monolith answers, nothing copied), shadow (the monolith
 * answers, the service gets a copy and both answers are compared), canary (the flag decides who
 * answers), cutover (the service answers). retired is the route's absence from routes.yaml.
 */
export const STAGES = ['legacy', 'shadow', 'canary', 'cutover'] as const;
export type RouteStage = (typeof STAGES)[number];

/** What paths.escapedSlashes does with %2F, %5C and a raw backslash in a request path. */
export const ESCAPED_SLASH_ACTIONS = ['decode', 'reject', 'keep'] as const;
export type EscapedSlashAction = (typeof ESCAPED_SLASH_ACTIONS)[number];

/**
 * What an upstream's `redirects:` does with a Location, Content-Location or Refresh that names the
 * upstream's own origin: rewrite it to the origin the client used (nginx's `proxy_redirect
 * default`), or keep it as sent (an upstream that already knows its public URL and means it).
 */
export const REDIRECT_MODES = ['rewrite', 'keep'] as const;
export type RedirectMode = (typeof REDIRECT_MODES)[number];

/** Methods copied to a candidate without a sandbox: they change nothing by HTTP's contract. */
export const SAFE_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS']);

/** How a route's requests are copied and compared (routes.yaml `shadow:`). */
export interface ShadowConfig {
  /** share of eligible requests copied, 0..1 */
  sample: number;
  /** a copy's whole call (headers and body) must finish within this, or it is a candidate-error */
  timeoutMs: number;
  /** request bodies above this many bytes are not copied (the copy is skipped and counted) */
  maxRequestBody: number;
  /** a sandbox upstream that receives copies of writes (POST, PUT, PATCH, DELETE); none: writes are never copied */
  writes: string | null;
  /** canary: also compare when the service answered, by copying the request to legacy (safe methods only) */
  reverse: boolean;
  /** share of copied safe requests for which legacy is also called a second time, to learn noise */
  noiseSample: number;
  /** the first copies of each route after start always learn noise */
  noiseWarmup: number;
  /** the second legacy call waits this long, so clock fields with second resolution show as noise */
  noiseDelayMs: number;
}

/**
 * Where a context field is read from in the request: a header, a cookie by its exact name, or
 * the first cookie whose name starts with a prefix (WordPress names its login cookie
 * wordpress_logged_in_<hash of the site URL>, so its name differs from site to site).
 */
export type RequestSource = { header: string } | { cookie: string } | { cookiePrefix: string };

/**
 * routes.yaml route `query:` — what one query parameter must hold, read as PHP fills $_GET
 * (proxy/routing/read-query.ts). value: the exact value, where a whole /-separated segment
 * written :name stands for any one non-empty segment; regex: a JavaScript regular expression.
 * ignoreCase: for applications that match the value case-insensitively (WordPress's REST routes).
 */
export type QueryCondition = { value: string; ignoreCase: boolean } | { regex: string; ignoreCase: boolean };

export interface RouteConfig {
  /** unique, also the default flag name */
  name: string;
  /** HTTP methods this route matches, upper case */
  methods: readonly string[];
  /** find-my-way path pattern, e.g. /api/rooms/:id */
  path: string;
  /** query parameters that must all hold too, by name; empty: the path alone decides */
  query: Readonly<Record<string, QueryCondition>>;
  /** the candidate upstream (a key of services) */
  service: string;
  /** the Unleash flag that decides the share; defaults to name */
  flag: string;
  /** 1-based line of the route in routes.yaml, for messages */
  line: number;
  stage: RouteStage;
  shadow: ShadowConfig;
  /** comparison rules as written (validated); see proxy/comparison/rules.ts */
  compare: RulesInput;
  /** share of this route's requests written to the recording file, 0..1 */
  record: number;
  /** load shedding for this route; 0 = no limit */
  limit: { concurrent: number; ratePerS: number };
  /** the progressive rollout `strangler promote` starts; null: promote goes to 100 % at once */
  rollout: RolloutPlan | null;
}

/** routes.yaml route `rollout:` — steps and the gates that must hold at each. */
export interface RolloutPlan {
  /** shares in percent, increasing, the last one 100 */
  steps: readonly number[];
  /** time at each step before judging it and moving on */
  intervalMs: number;
  /** service requests needed in a step before it is judged; fewer: the step waits */
  minRequests: number;
  /** largest share of the service's answers that may be 5xx, above legacy's own rate, 0..1 */
  maxErrorRate: number;
  /** largest service p99 in ms; null: not judged */
  maxP99Ms: number | null;
  /** largest service p99 as a multiple of legacy's p99 in the same step (`maxP99: 2x`); null: not judged */
  maxP99Ratio: number | null;
  /** smallest parity (0..100) of the step's comparisons; null: not judged */
  minParity: number | null;
}

/** routes.yaml `breaker:` — when a failing service is taken out of the path (per service). */
export interface BreakerConfig {
  /** consecutive failures (5xx or no answer) that open a service's breaker */
  failures: number;
  /** how long it stays open before one probe request is let through */
  openForMs: number;
}

/** routes.yaml `admin:` — the ops API (routes, shift, rollback, audit, metrics, health). */
export interface AdminConfig {
  listen: { host: string; port: number };
  /** may read routes, audit and metrics */
  readToken: string;
  /** may also change routes; empty: the API is read-only */
  operatorToken: string;
}

/**
 * routes.yaml `paths:` — how a request path is normalised before the route is decided; the
 * upstream, whichever it is, receives the normalised path (proxy/routing/normalize-path.ts).
 */
export interface PathsConfig {
  /** remove . and .. segments (RFC 3986 5.2.4, %2E spellings too) and decode %-encoded unreserved characters */
  normalize: boolean;
  /** read a run of slashes as one */
  mergeSlashes: boolean;
  /** decode: %2F, %5C and \ are slashes; reject: 400; keep: they stay as sent, inside a segment */
  escapedSlashes: EscapedSlashAction;
}

/** routes.yaml `limits:` — global load shedding. */
export interface LimitsConfig {
  /** requests in flight through the proxy; more get 503 */
  maxConcurrent: number;
  /** requests per second through the proxy (token bucket); 0 = no limit */
  ratePerS: number;
  /** shed new requests while the event loop lags more than this (p99 over the last second); 0 = off */
  maxEventLoopDelayMs: number;
  /** seconds in the Retry-After of a shed request */
  retryAfterS: number;
  /** client connections open at once; more are refused at accept (counted) */
  maxConnections: number;
  /** a request's line and headers must arrive within this (408) */
  headerTimeoutMs: number;
  /** no gap longer than this in a request body while it is read (408); the upstream's timeout starts once the body is sent */
  bodyTimeoutMs: number;
  /** request body bytes (413 beyond); 0 = no limit */
  maxRequestBody: number;
  /** a client that takes no bytes of its answer for this long is cut (the upstream's connection is freed) */
  sendTimeoutMs: number;
  /** an idle keep-alive client connection is closed after this */
  keepAliveTimeoutMs: number;
  /** longest request target (path and query) in bytes (414) */
  maxTargetLength: number;
  /** largest request head (line and headers) in bytes (431) */
  maxHeaderSize: number;
  /** bytes of an answer held for a slow client before the upstream is paused: answers up to this free their upstream connection at once */
  responseBuffer: number;
  /** upgraded (WebSocket) connections open at once; more get 503 */
  maxWebSockets: number;
  /** an upgraded connection with no bytes either way for this long is closed */
  webSocketIdleTimeoutMs: number;
}

/** routes.yaml `forwarded:` — which peers' X-Forwarded-*, X-Real-IP and Forwarded headers are believed. */
export interface ForwardedConfig {
  /** peer addresses (IPs or CIDRs, v4 or v6) of load balancers in front of the proxy; empty: trust no peer */
  trust: readonly string[];
}

/** Where comparisons are stored and how they are kept (routes.yaml `comparisons:`). */
export interface ComparisonsConfig {
  /** sqlite:<path> or mysql://…; STRANGLER_DATABASE_URL overrides */
  database: string;
  /** comparisons older than this are deleted */
  retentionMs: number;
  /** at most this many comparisons are kept (the oldest go first) */
  maxRows: number;
  /** copies in flight at once over all routes; more are skipped and counted, never queued */
  maxConcurrent: number;
  /** response bytes read per side for comparison; a longer body is compared in part (or not, for JSON) */
  captureLimit: number;
  /** bytes of each body kept in storage */
  storedBodyLimit: number;
  /** fields: exact names; headers: exact header names; patterns: substrings of any name (case, "_" and "-" ignored) */
  redact: { fields: readonly string[]; headers: readonly string[]; patterns: readonly string[] };
}

/** routes.yaml `recording:` — where sampled real traffic is written as JSONL. */
export interface RecordingConfig {
  file: string;
  maxBody: number;
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
      /** an admin API token: lets strangler change shares (shift, rollback, rollouts) in Unleash; empty: read-only */
      adminToken: string;
      project: string;
      environment: string;
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
  /** services marked `sandbox: true`: the only upstreams that may receive copies of writes */
  sandboxes: readonly string[];
  /** by upstream name (legacy and every service): what happens to its redirects to its own origin */
  redirects: Readonly<Record<string, RedirectMode>>;
  flags: FlagsConfig;
  context: ContextConfig;
  testers: { secret: string };
  upstreamTimeoutMs: number;
  targetHeader: boolean;
  log: { level: string };
  routes: readonly RouteConfig[];
  comparisons: ComparisonsConfig;
  /** null: nothing is recorded */
  recording: RecordingConfig | null;
  breaker: BreakerConfig;
  limits: LimitsConfig;
  forwarded: ForwardedConfig;
  paths: PathsConfig;
  /** null: no admin API */
  admin: AdminConfig | null;
}

/** Keys allowed at each level; anything else is reported with a "did you mean". */
export const KNOWN_KEYS = {
  top: ['listen', 'legacy', 'services', 'flags', 'context', 'testers', 'upstreamTimeout', 'targetHeader', 'log', 'routes', 'comparisons', 'recording', 'breaker', 'limits', 'forwarded', 'paths', 'admin'],
  legacy: ['url', 'redirects'],
  service: ['url', 'sandbox', 'redirects'],
  shadow: ['sample', 'timeout', 'maxRequestBody', 'writes', 'reverse', 'noiseSample', 'noiseWarmup', 'noiseDelay'],
  comparisons: ['database', 'retention', 'maxRows', 'maxConcurrent', 'captureLimit', 'storedBodyLimit', 'redact'],
  redact: ['fields', 'headers', 'patterns'],
  recording: ['file', 'maxBody'],
  breaker: ['failures', 'openFor'],
  admin: ['listen', 'readToken', 'operatorToken'],
  limits: ['maxConcurrent', 'rate', 'maxEventLoopDelay', 'retryAfter', 'maxConnections', 'headerTimeout', 'bodyTimeout', 'maxRequestBody', 'sendTimeout', 'keepAliveTimeout', 'maxTargetLength', 'maxHeaderSize', 'responseBuffer', 'maxWebSockets', 'webSocketIdleTimeout'],
  forwarded: ['trust'],
  routeLimit: ['concurrent', 'rate'],
  paths: ['normalize', 'mergeSlashes', 'escapedSlashes'],
  flags: ['file', 'unleash'],
  unleash: ['url', 'token', 'appName', 'refreshInterval', 'backupDir', 'adminToken', 'project', 'environment'],
  context: ['userId', 'sessionId', 'properties'],
  source: ['header', 'cookie', 'cookiePrefix'],
  testers: ['secret'],
  log: ['level'],
  route: ['name', 'match', 'query', 'service', 'flag', 'stage', 'shadow', 'compare', 'record', 'limit', 'rollout'],
  queryCondition: ['value', 'regex', 'ignoreCase'],
  rollout: ['steps', 'interval', 'minRequests', 'maxErrorRate', 'maxP99', 'minParity'],
} as const;

export const HTTP_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export const ROUTE_NAME = /^[a-z0-9][a-z0-9-]*$/;
