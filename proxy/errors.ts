/**
 * The error catalogue: every failure strangler reports has a stable code, an HTTP status
 * where it reaches a client, and a message that says what to do next.
 * Codes never change meaning; add new ones instead.
 */
export class StranglerError extends Error {
  readonly code: string;
  readonly statusCode: number;

  constructor(code: string, statusCode: number, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StranglerError';
    this.code = code;
    this.statusCode = statusCode;
  }
}

/** One problem found in a config file, located so the user can jump to it. */
export interface ConfigProblem {
  file: string;
  line: number;
  column: number;
  /** dotted path into the document, e.g. routes[1].service */
  path: string;
  message: string;
}

export function formatProblem(p: ConfigProblem): string {
  const where = p.path ? ` ${p.path}:` : '';
  return `${p.file}:${p.line}:${p.column}${where} ${p.message}`;
}

export class ConfigError extends StranglerError {
  readonly problems: readonly ConfigProblem[];

  constructor(file: string, problems: ConfigProblem[]) {
    const n = problems.length;
    super(
      'STRANGLER_ERR_CONFIG_INVALID',
      500,
      `${file} has ${n} problem${n === 1 ? '' : 's'}; nothing was applied:\n` +
        problems.map((p) => `  - ${formatProblem(p)}`).join('\n'),
    );
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

export const errors = {
  configNotFound: (file: string, cause?: unknown) =>
    new StranglerError(
      'STRANGLER_ERR_CONFIG_NOT_FOUND',
      500,
      `config file ${file} not found: pass --config <file> or create routes.yaml in the current folder (see README "Config reference")`,
      { cause },
    ),
  configUnreadable: (file: string, cause?: unknown) =>
    new StranglerError(
      'STRANGLER_ERR_CONFIG_UNREADABLE',
      500,
      `config file ${file} cannot be read (${cause instanceof Error ? cause.message : 'unknown error'}): pass --config with the path of a routes.yaml file the proxy may read`,
      { cause },
    ),
  configUnsettled: (file: string, waitedMs: number) =>
    new StranglerError(
      'STRANGLER_ERR_CONFIG_UNSETTLED',
      500,
      `config file ${file} was still changing after ${waitedMs} ms, so none of it was applied; write it elsewhere and rename it over routes.yaml (mv is atomic), then it is read once it is complete`,
    ),
  flagsFileInvalid: (file: string, detail: string, cause?: unknown) =>
    new StranglerError(
      'STRANGLER_ERR_FLAGS_FILE_INVALID',
      500,
      `flags file ${file} is not valid Unleash client-features JSON: ${detail}. Fix the file (or restore it with "strangler shift"); the last good flags stay in force meanwhile`,
      { cause },
    ),
  unknownRoute: (name: string, known: string[]) =>
    new StranglerError(
      'STRANGLER_ERR_UNKNOWN_ROUTE',
      404,
      `no route named "${name}" in routes.yaml; routes are: ${known.join(', ') || '(none)'}`,
    ),
  badPercent: (value: string) =>
    new StranglerError(
      'STRANGLER_ERR_BAD_PERCENT',
      400,
      `"${value}" is not a share: write a whole number from 0 to 100, or "on"/"off" for the kill switch`,
    ),
  shiftNeedsLocalFlags: (url: string) =>
    new StranglerError(
      'STRANGLER_ERR_SHIFT_UNSUPPORTED',
      501,
      `flags come from the Unleash server at ${url} and strangler has no admin token for it: set flags.unleash.adminToken (or export UNLEASH_ADMIN_TOKEN) to shift from here, or change the flag's rollout in Unleash itself`,
    ),
  upstreamUnreachable: (upstream: string, target: string, cause?: unknown) =>
    new StranglerError(
      'STRANGLER_ERR_UPSTREAM_UNREACHABLE',
      502,
      `upstream "${upstream}" (${target}) could not be reached: check that it is running and that routes.yaml points at the right address`,
      { cause },
    ),
  upstreamTimeout: (upstream: string, target: string, ms: number) =>
    new StranglerError(
      'STRANGLER_ERR_UPSTREAM_TIMEOUT',
      504,
      `upstream "${upstream}" (${target}) did not answer within ${ms} ms: it is overloaded or stuck; raise upstreamTimeout in routes.yaml only if slow answers are expected`,
    ),
  badRequestTarget: () =>
    new StranglerError(
      'STRANGLER_ERR_BAD_REQUEST_TARGET',
      400,
      'the request path is not valid (malformed percent-encoding or not an absolute path)',
    ),
  requestTargetTooLong: (length: number, max: number) =>
    new StranglerError(
      'STRANGLER_ERR_REQUEST_TARGET_TOO_LONG',
      414,
      `the request target is ${length} bytes, more than limits.maxTargetLength (${max}); shorten the URL or raise the limit in routes.yaml`,
    ),
  duplicateHost: () =>
    new StranglerError(
      'STRANGLER_ERR_DUPLICATE_HOST',
      400,
      'the request has more than one Host header (RFC 9112 §3.2); send exactly one',
    ),
  requestBodyTimeout: (ms: number) =>
    new StranglerError(
      'STRANGLER_ERR_REQUEST_BODY_TIMEOUT',
      408,
      `the request body stalled for more than ${ms} ms (limits.bodyTimeout); the upstream was told nothing complete, resend the request`,
    ),
  requestBodyTooLarge: (max: number) =>
    new StranglerError(
      'STRANGLER_ERR_REQUEST_BODY_TOO_LARGE',
      413,
      `the request body is larger than limits.maxRequestBody (${max} bytes); send less, or raise the limit in routes.yaml`,
    ),
  upstreamBusy: (upstream: string, target: string, waitedMs: number) =>
    new StranglerError(
      'STRANGLER_ERR_UPSTREAM_BUSY',
      503,
      `every connection to upstream "${upstream}" (${target}) stayed busy for ${waitedMs} ms; the request was not sent, retry it`,
    ),
  webSocketsExhausted: (max: number) =>
    new StranglerError(
      'STRANGLER_ERR_WEBSOCKETS_EXHAUSTED',
      503,
      `${max} upgraded connections are open (limits.maxWebSockets); retry later`,
    ),
  upgradeWithBody: () =>
    new StranglerError(
      'STRANGLER_ERR_UPGRADE_WITH_BODY',
      400,
      'an upgrade request must not carry a body (Content-Length or Transfer-Encoding); send the WebSocket handshake without one',
    ),
  pathEscapedSlash: () =>
    new StranglerError(
      'STRANGLER_ERR_PATH_ESCAPED_SLASH',
      400,
      'the request path has an escaped slash (%2F, %5C or \\), which this proxy refuses (paths.escapedSlashes: reject): send / between segments and encode nothing else as a slash',
    ),
  pathControlCharacter: () =>
    new StranglerError(
      'STRANGLER_ERR_PATH_CONTROL_CHARACTER',
      400,
      'the request path has an encoded control character (%00-%1F or %7F), which no route may carry: remove it',
    ),
  unreadableQuery: () =>
    new StranglerError(
      'STRANGLER_ERR_UNREADABLE_QUERY',
      400,
      'the query cannot be read as the application reads it (a #, an encoded control character in a routed parameter, or more than 1000 parameters): remove it',
    ),
  pathFragment: () =>
    new StranglerError(
      'STRANGLER_ERR_PATH_FRAGMENT',
      400,
      'the request path has a # (a fragment), which never belongs in a request: leave the fragment out, or send a literal # as %23',
    ),
  pathTooLong: (max: number) =>
    new StranglerError('STRANGLER_ERR_PATH_TOO_LONG', 414, `the request path is longer than ${max} bytes; shorten it (the query string does not count)`),
  phpMissing: (reason: string) =>
    new StranglerError(
      'STRANGLER_ERR_PHP_MISSING',
      500,
      `PHP 8.1+ with pdo_sqlite is needed to run the demo monolith (${reason}). Install it: sudo apt-get install -y php-cli php-sqlite3 php-mysql (Debian/Ubuntu) or brew install php (macOS)`,
    ),
  comparisonBadPath: (pattern: string, detail: string) =>
    new StranglerError(
      'STRANGLER_ERR_COMPARISON_BAD_PATH',
      500,
      `"${pattern}" is not a path: ${detail}; write e.g. $.data[*].created_at, $..request_id or $['odd key']`,
    ),
  comparisonRulesInvalid: (problems: readonly string[]) =>
    new StranglerError(
      'STRANGLER_ERR_COMPARISON_RULES_INVALID',
      500,
      `comparison rules have ${problems.length} problem${problems.length === 1 ? '' : 's'}; nothing was applied:\n` +
        problems.map((p) => `  - ${p}`).join('\n'),
    ),
  portInUse: (what: string, address: string, cause?: unknown) =>
    new StranglerError(
      'STRANGLER_ERR_PORT_IN_USE',
      500,
      `${what} cannot listen on ${address}: the port is taken. Stop whatever uses it or choose another address`,
      { cause },
    ),
  trafficFileNotFound: (file: string, cause?: unknown) =>
    new StranglerError(
      'STRANGLER_ERR_TRAFFIC_NOT_FOUND',
      500,
      `traffic file ${file} not found: pass a recording written by the proxy (recording: in routes.yaml) or a HAR file saved from the browser devtools (Network → Save all as HAR with content)`,
      { cause },
    ),
  trafficFileUnreadable: (file: string, detail: string, cause?: unknown) =>
    new StranglerError('STRANGLER_ERR_TRAFFIC_UNREADABLE', 500, `traffic file ${file} cannot be read: ${detail}`, { cause }),
  trafficFileInvalid: (file: string, line: number, detail: string, cause?: unknown) =>
    new StranglerError('STRANGLER_ERR_TRAFFIC_INVALID', 500, `${file}:${line}: ${detail}`, { cause }),
  comparisonStoreUnavailable: (database: string, cause?: unknown) =>
    new StranglerError(
      'STRANGLER_ERR_COMPARISON_STORE',
      500,
      `the comparison store ${database} cannot be opened (${cause instanceof Error ? cause.message : 'unknown error'}); check comparisons.database in routes.yaml (or STRANGLER_DATABASE_URL) and that the database is reachable`,
      { cause },
    ),
  adminUnauthorized: () =>
    new StranglerError(
      'STRANGLER_ERR_ADMIN_UNAUTHORIZED',
      401,
      'the admin API needs "Authorization: Bearer <token>" with the read or the operator token of this proxy',
    ),
  adminThrottled: (retryAfterS: number) =>
    new StranglerError(
      'STRANGLER_ERR_ADMIN_THROTTLED',
      429,
      `too many wrong admin tokens from this address: it is refused for ${retryAfterS} s, even with the right token. Check the token the client sends (--token, or admin.readToken / admin.operatorToken in routes.yaml), then retry after that`,
    ),
  adminForbidden: () =>
    new StranglerError('STRANGLER_ERR_ADMIN_FORBIDDEN', 403, 'this token can only read; use the operator token'),
  adminBadRequest: (detail: string, statusCode = 400) =>
    new StranglerError('STRANGLER_ERR_ADMIN_BAD_REQUEST', statusCode, detail),
  adminNotFound: (method: string, url: string) =>
    new StranglerError(
      'STRANGLER_ERR_ADMIN_NOT_FOUND',
      404,
      `the admin API has no ${method} ${url}; it serves GET /routes, GET /audit, GET /metrics (when metrics are on) and POST /routes/<name>/shift|rollback|promote`,
    ),
  adminInternal: (reqId: string) =>
    new StranglerError('STRANGLER_ERR_ADMIN_INTERNAL', 500, `the admin API failed unexpectedly; the proxy's log has the details (reqId ${reqId})`),
  adminTokensSame: () =>
    new StranglerError(
      'STRANGLER_ERR_ADMIN_TOKENS',
      500,
      'the admin read token and operator token are the same, so anyone who may read could change routes; give them different values',
    ),
  auditWriteFailed: (route: string, reqId: string, cause?: unknown) =>
    new StranglerError(
      'STRANGLER_ERR_AUDIT_WRITE',
      500,
      `route "${route}" WAS changed, but the audit log could not be written (${cause instanceof Error ? cause.message : 'unknown error'}); the change is in the proxy's log (reqId ${reqId}). Do not repeat the change; check the proxy's database`,
      { cause },
    ),
  adminUnreachable: (url: string, detail: string, cause?: unknown) =>
    new StranglerError(
      'STRANGLER_ERR_ADMIN_UNREACHABLE',
      502,
      `the proxy's admin API at ${url} is not reachable (${detail}): is the proxy running with admin: configured?`,
      { cause },
    ),
  adminBadResponse: (url: string, status: number, detail: string) =>
    new StranglerError(
      'STRANGLER_ERR_ADMIN_BAD_RESPONSE',
      502,
      `${url} answered ${status} but not as strangler's admin API does (${detail}): is it the proxy's admin address?`,
    ),
  overloaded: (detail: string, retryAfterS: number) =>
    new StranglerError(
      'STRANGLER_ERR_OVERLOADED',
      503,
      `the proxy is shedding load: ${detail}; retry after ${retryAfterS} s`,
    ),
  adminNotConfigured: (file: string) =>
    new StranglerError(
      'STRANGLER_ERR_ADMIN_NOT_CONFIGURED',
      500,
      `${file} has no admin: section, so there is no admin API to ask; add admin: { listen: 127.0.0.1:9090, operatorToken: \${STRANGLER_ADMIN_TOKEN}, readToken: \${STRANGLER_ADMIN_READ_TOKEN} } and restart the proxy`,
    ),
  unleashAdmin: (method: string, url: string, status: number, detail: string) =>
    new StranglerError(
      'STRANGLER_ERR_UNLEASH_ADMIN',
      502,
      `the Unleash admin API refused ${method} ${url} with ${status} (${detail}): ${
        status === 401
          ? 'the token was not accepted; use an admin API token (*:*.…) or a personal access token, not a client token'
          : status === 403
            ? 'the token may not change this project or environment; use an admin API token'
            : status === 404
              ? 'check that the flag, the project and the environment exist in Unleash (flags are created with ensureFlag/setRollout)'
              : 'check the Unleash server\'s log'
      }`,
    ),
  unleashBadResponse: (url: string, status: number, detail: string) =>
    new StranglerError(
      'STRANGLER_ERR_UNLEASH_BAD_RESPONSE',
      502,
      `${url} answered ${status} but not as the Unleash admin API does (${detail}): is the url the Unleash server's base address (http://host:4242)?`,
    ),
  unleashUnreachable: (url: string, detail: string, cause?: unknown) =>
    new StranglerError(
      'STRANGLER_ERR_UNLEASH_UNREACHABLE',
      502,
      `the Unleash server at ${url} is not reachable (${detail}): is it running, and is the url its base address (http://host:4242)?`,
      { cause },
    ),
  accessLogNotFound: (file: string, cause?: unknown) =>
    new StranglerError(
      'STRANGLER_ERR_ACCESS_LOG_NOT_FOUND',
      500,
      `access log ${file} not found: pass the proxy's log (its stdout, JSON lines) or an nginx/Apache access log in "combined" format; .gz files are read too`,
      { cause },
    ),
  accessLogUnreadable: (file: string, detail: string, cause?: unknown) =>
    new StranglerError('STRANGLER_ERR_ACCESS_LOG_UNREADABLE', 500, `access log ${file} cannot be read: ${detail}`, { cause }),
  accessLogInvalid: (file: string, detail: string) =>
    new StranglerError(
      'STRANGLER_ERR_ACCESS_LOG_INVALID',
      500,
      `access log ${file} has no request line strangler can read (${detail}). Expected, one request per line, either\n` +
        `  the proxy's access log: {"level":30,"time":"2026-11-25T10:00:00.000Z",…,"method":"GET","url":"/api/rooms/42","route":"rooms-get","target":"rooms","status":200,"ms":3.2,"msg":"request completed"}\n` +
        `  or nginx/Apache combined: 203.0.113.7 - - [25/Nov/2026:10:00:00 +0000] "GET /api/rooms/42 HTTP/1.1" 200 512 "-" "curl/8.5" [0.003]\n` +
        `(the last field, $request_time in seconds or Apache %D in microseconds, is optional); pass --format proxy|combined if auto-detection guessed wrong`,
    ),
  extractBadMatch: (match: string, detail: string) =>
    new StranglerError(
      'STRANGLER_ERR_EXTRACT_BAD_MATCH',
      400,
      `cannot extract "${match}": ${detail}. Write one method and a path, e.g. strangler extract "GET /api/diaries" --service diaries`,
    ),
  extractBadName: (what: 'service' | 'route', name: string, detail: string) =>
    new StranglerError(
      'STRANGLER_ERR_EXTRACT_BAD_NAME',
      400,
      `${what} name "${name}" cannot be used: ${detail}`,
    ),
  extractNotRepositoryRoot: (root: string) =>
    new StranglerError(
      'STRANGLER_ERR_EXTRACT_NOT_REPOSITORY_ROOT',
      500,
      `${root} is not the root of a strangler repository (services/shared/database.ts is missing there): run strangler extract from the folder that holds routes.yaml, services/ and test/`,
    ),
  extractRouteNameTaken: (name: string, match: string, service: string, line: number) =>
    new StranglerError(
      'STRANGLER_ERR_EXTRACT_ROUTE_NAME_TAKEN',
      409,
      `routes.yaml already has a route named "${name}" (line ${line}: ${match} → ${service}); route names are unique, so pass another one with --route <name>`,
    ),
  extractPathCovered: (match: string, route: string, routeMatch: string, line: number) =>
    new StranglerError(
      'STRANGLER_ERR_EXTRACT_PATH_COVERED',
      409,
      `"${match}" is already matched by route "${route}" (line ${line}: ${routeMatch}) in routes.yaml; extract it by changing that route (its service:), or remove that route first`,
    ),
  extractAppMarkerMissing: (file: string, marker: string) =>
    new StranglerError(
      'STRANGLER_ERR_EXTRACT_APP_MARKER_MISSING',
      500,
      `${file} has no "${marker}" line, so strangler extract does not know where to register the new route module: add that comment inside buildApp, after the last route registration, and run again (nothing was written)`,
    ),
  extractConfigRejected: (file: string, problems: readonly string[]) =>
    new StranglerError(
      'STRANGLER_ERR_EXTRACT_CONFIG_REJECTED',
      500,
      `adding the route to ${file} would make it invalid, so nothing was written:\n` +
        problems.map((p) => `  - ${p}`).join('\n') +
        '\nFix routes.yaml (strangler check) or choose other --service/--route names, then run again',
    ),
  extractNoSamples: (file: string, match: string, seen: number) =>
    new StranglerError(
      'STRANGLER_ERR_EXTRACT_NO_SAMPLES',
      400,
      `none of the ${seen} exchange(s) in ${file} is a "${match}" request, so there is nothing to hold the service to: pass a recording of this route (routes.yaml record: on a route that covers it) or record from legacy with --from-legacy <url> --paths "<path>,<path>"`,
    ),
  extractSamplePathMismatch: (path: string, match: string) =>
    new StranglerError(
      'STRANGLER_ERR_EXTRACT_SAMPLE_PATH',
      400,
      `--paths entry "${path}" is not a "${match}" request: give paths (with query strings) that this route matches, e.g. ${match.split(' ')[1]?.replace(/:[^/]+/g, '1') ?? '/'}`,
    ),
  extractUnsafeRecording: (method: string) =>
    new StranglerError(
      'STRANGLER_ERR_EXTRACT_UNSAFE_RECORDING',
      400,
      `--from-legacy only sends safe requests (GET, HEAD, OPTIONS), and ${method} would change legacy's data: record ${method} samples through the proxy (record: on the route) and pass them with --samples`,
    ),
  extractLegacyUnreachable: (url: string, detail: string, cause?: unknown) =>
    new StranglerError(
      'STRANGLER_ERR_EXTRACT_LEGACY_UNREACHABLE',
      502,
      `legacy at ${url} could not be asked for samples (${detail}): start it (npx strangler demo, or php legacy/bin/setup.php && php -S 127.0.0.1:8000 legacy/router.php) and check the URL`,
      { cause },
    ),
  reportFileUnreadable: (file: string, detail: string, cause?: unknown) =>
    new StranglerError(
      'STRANGLER_ERR_REPORT_UNREADABLE',
      500,
      `report file ${file} cannot be read (${detail}): pass the JSON report strangler replay wrote (its --report, var/replay-report.json by default), or leave out --from to build the report from the comparison store`,
      { cause },
    ),
  reportFileInvalid: (file: string, problem: string, more: number, cause?: unknown) =>
    new StranglerError(
      'STRANGLER_ERR_REPORT_INVALID',
      500,
      `${file} is not a parity report written by strangler: ${problem}${more > 0 ? ` (and ${more} more problem${more === 1 ? '' : 's'})` : ''}. Pass the JSON report strangler replay wrote (its --report), or leave out --from to build the report from the comparison store; nothing was written`,
      { cause },
    ),
} as const;
