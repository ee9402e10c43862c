import { createHash, timingSafeEqual } from 'node:crypto';
import Fastify, { type FastifyBaseLogger, type FastifyError, type FastifyInstance, type FastifyRequest } from 'fastify';
import { errors, StranglerError } from '../errors.ts';
import type { AuditLog } from './audit-log.ts';
import { createAuthThrottle, type AuthThrottleOptions } from './auth-throttle.ts';
import type { Actor, AuditEntry, Change, RouteController } from './route-controller.ts';

/**
 * The ops admin API: read the routes and the audit log, shift traffic, roll back, promote.
 * Every change goes through the RouteController and lands in the audit log with who, from
 * where and why. It runs on its own address (the caller listens), never on the proxy's port.
 */

export type TokenKind = 'read' | 'operator';

export interface Readiness {
  ready: boolean;
  checks: Record<string, 'ok' | 'degraded' | 'down'>;
}

export interface AdminAppOptions {
  controller: RouteController;
  audit: AuditLog;
  /** an empty token never matches: leaving the operator token empty makes the API read-only */
  tokens: { read: string; operator: string };
  logger: FastifyBaseLogger;
  readiness: () => Readiness;
  /** GET /metrics answers 404 without it */
  renderMetrics?: () => Promise<{ contentType: string; body: string }>;
  /** limits on wrong tokens per address (AUTH_THROTTLE_DEFAULTS); tests pass a clock */
  throttle?: Partial<AuthThrottleOptions>;
}

/** Who may call an endpoint; anything not marked (unknown paths included) needs at least the read token. */
type Access = 'public' | 'read' | 'operator';

const AUDIT_LIMIT_DEFAULT = 100;
const REASON_MAX = 500;
// Admin bodies are a number and a sentence; nothing legitimate comes near this.
const BODY_LIMIT = 16 * 1024;

const FIELD_HINTS: Record<string, string> = {
  percent: 'a whole number from 0 to 100',
  reason: `a non-empty text of at most ${REASON_MAX} characters saying why`,
  route: 'a route name of at most 100 characters',
  limit: 'a whole number from 1 to 1000',
};

const reasonSchema = { type: 'string', minLength: 1, maxLength: REASON_MAX, pattern: '\\S' } as const;
const reasonOnlyBody = {
  type: 'object',
  additionalProperties: false,
  required: ['reason'],
  properties: { reason: reasonSchema },
} as const;
const shiftBody = {
  type: 'object',
  additionalProperties: false,
  required: ['percent', 'reason'],
  properties: { percent: { type: 'integer', minimum: 0, maximum: 100 }, reason: reasonSchema },
} as const;
const auditQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    route: { type: 'string', minLength: 1, maxLength: 100 },
    // a string because types are not coerced (see ajv options below)
    limit: { type: 'string', pattern: '^(?:[1-9][0-9]{0,2}|1000)$' },
  },
} as const;

/** The admin API as a Fastify instance that does not listen. Throws STRANGLER_ERR_ADMIN_TOKENS when both tokens are the same. */
export function buildAdminApp(options: AdminAppOptions): FastifyInstance {
  const { controller, audit, tokens, logger, readiness, renderMetrics } = options;
  if (tokens.read !== '' && tokens.read === tokens.operator) throw errors.adminTokensSame();
  const authenticate = createAuthenticator(tokens);
  const throttle = createAuthThrottle(options.throttle);
  const tokenKinds = new WeakMap<FastifyRequest, TokenKind>();

  const app = Fastify({
    loggerInstance: logger,
    bodyLimit: BODY_LIMIT,
    ajv: {
      customOptions: {
        // Fastify's defaults would turn {"percent": null} into 0 and drop unknown fields silently.
        coerceTypes: false,
        removeAdditional: false,
        allErrors: true,
      },
    },
  }) as unknown as FastifyInstance;

  app.addHook('onRequest', async (request, reply) => {
    reply.header('cache-control', 'no-store');
    const access = (request.routeOptions.config as { access?: Access }).access ?? 'read';
    if (access === 'public') return;
    // checked before the token: a blocked address learns nothing, not even from a right guess
    const waitMs = throttle.retryAfterMs(request.ip);
    if (waitMs > 0) {
      const retryAfterS = Math.ceil(waitMs / 1000);
      reply.header('retry-after', String(retryAfterS));
      throw errors.adminThrottled(retryAfterS);
    }
    const result = authenticate(request.headers.authorization);
    if ('reason' in result) {
      request.log.warn(
        { method: request.method, url: request.url, remoteAddress: request.ip, reason: result.reason },
        'admin request unauthorized',
      );
      // only a presented token is a guess; a missing or non-bearer header cannot succeed
      if (result.reason === 'unknown token') {
        const blockedMs = throttle.fail(request.ip);
        if (blockedMs > 0) request.log.warn({ remoteAddress: request.ip, retryAfterS: Math.ceil(blockedMs / 1000) }, 'admin address throttled');
      }
      throw errors.adminUnauthorized();
    }
    if (access === 'operator' && result.kind !== 'operator') throw errors.adminForbidden();
    tokenKinds.set(request, result.kind);
  });

  app.setErrorHandler((err: FastifyError, request, reply) => {
    const e = toStranglerError(err, request);
    if (e.statusCode === 401) reply.header('www-authenticate', 'Bearer');
    reply.code(e.statusCode).send({ error: { code: e.code, message: e.message } });
  });

  app.setNotFoundHandler(async (request) => {
    throw errors.adminNotFound(request.method, request.url.split('?')[0]);
  });

  // Probes come every few seconds; at warn level they stay out of the log unless they fail.
  app.get('/healthz', { config: { access: 'public' }, logLevel: 'warn' }, async () => ({ status: 'ok' }));
  app.get('/readyz', { config: { access: 'public' }, logLevel: 'warn' }, async (_request, reply) => {
    const { ready, checks } = readiness();
    reply.code(ready ? 200 : 503);
    return { ready, checks };
  });

  if (renderMetrics) {
    app.get('/metrics', { config: { access: 'read' } }, async (_request, reply) => {
      const { contentType, body } = await renderMetrics();
      reply.type(contentType);
      return body;
    });
  }

  app.get('/routes', { config: { access: 'read' } }, async () => ({ routes: await controller.list() }));

  app.get('/audit', { config: { access: 'read' }, schema: { querystring: auditQuery } }, async (request) => {
    const { route, limit } = request.query as { route?: string; limit?: string };
    return { entries: await audit.list({ route, limit: limit === undefined ? AUDIT_LIMIT_DEFAULT : Number(limit) }) };
  });

  const actorOf = (request: FastifyRequest): Actor => ({ token: tokenKinds.get(request)!, address: request.ip });

  /** the one way a route changes: controller, then log line, then audit entry (awaited) */
  const change = async (request: FastifyRequest, reason: string, run: (actor: Actor) => Promise<Change>) => {
    const actor = actorOf(request);
    const done = await run(actor);
    const entry: AuditEntry = { at: new Date().toISOString(), actor, change: done, reason };
    request.log.info(
      { route: done.route, action: done.action, from: done.from, to: done.to, reason, tokenKind: actor.token, remoteAddress: actor.address },
      'route changed',
    );
    try {
      await audit.append(entry);
    } catch (err) {
      request.log.error({ err, entry }, 'audit log write failed');
      throw errors.auditWriteFailed(done.route, request.id, err);
    }
    return { change: done };
  };

  const operator = { config: { access: 'operator' as Access } };
  app.post('/routes/:name/shift', { ...operator, schema: { body: shiftBody } }, async (request) => {
    const { name } = request.params as { name: string };
    const { percent, reason } = request.body as { percent: number; reason: string };
    return change(request, reason, (actor) => controller.shift(name, percent, actor, reason));
  });
  app.post('/routes/:name/rollback', { ...operator, schema: { body: reasonOnlyBody } }, async (request) => {
    const { name } = request.params as { name: string };
    const { reason } = request.body as { reason: string };
    return change(request, reason, (actor) => controller.rollback(name, actor, reason));
  });
  app.post('/routes/:name/promote', { ...operator, schema: { body: reasonOnlyBody } }, async (request) => {
    const { name } = request.params as { name: string };
    const { reason } = request.body as { reason: string };
    return change(request, reason, (actor) => controller.promote(name, actor, reason));
  });

  return app;
}

/**
 * Bearer token → token kind. Both sides are hashed first so timingSafeEqual always compares
 * equal-length buffers and the length of a configured token does not leak; both tokens are
 * always compared, so the time taken does not tell which one nearly matched.
 */
function createAuthenticator(tokens: { read: string; operator: string }) {
  const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();
  const operator = tokens.operator === '' ? null : digest(tokens.operator);
  const read = tokens.read === '' ? null : digest(tokens.read);
  return (header: string | undefined): { kind: TokenKind } | { reason: string } => {
    if (!header) return { reason: 'no authorization header' };
    const m = /^Bearer +(\S+) *$/i.exec(header);
    if (!m) return { reason: 'authorization is not a bearer token' };
    const presented = digest(m[1]);
    const isOperator = operator !== null && timingSafeEqual(presented, operator);
    const isRead = read !== null && timingSafeEqual(presented, read);
    if (isOperator) return { kind: 'operator' };
    if (isRead) return { kind: 'read' };
    return { reason: 'unknown token' };
  };
}

function toStranglerError(err: FastifyError, request: FastifyRequest): StranglerError {
  if (err instanceof StranglerError) {
    if (err.statusCode >= 500) request.log.error({ err }, 'admin request failed');
    return err;
  }
  if (err.validation) return errors.adminBadRequest(describeValidation(err, request));
  // Fastify's own refusals: malformed JSON, wrong content type, body too large
  if (err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 500) return errors.adminBadRequest(err.message, err.statusCode);
  request.log.error({ err }, 'admin request failed');
  return errors.adminInternal(request.id);
}

/** "invalid body: percent must be a whole number from 0 to 100; reason is missing: …" */
function describeValidation(err: FastifyError, request: FastifyRequest): string {
  const context = err.validationContext ?? 'request';
  const schema = (request.routeOptions.schema as Record<string, { properties?: object } | undefined> | undefined)?.[context];
  const fields = Object.keys(schema?.properties ?? {}).join(' and ');
  const hint = (field: string) => FIELD_HINTS[field] ?? 'a valid value';
  const problems = new Set<string>();
  for (const p of err.validation ?? []) {
    const params = p.params as Record<string, string>;
    if (p.keyword === 'required') problems.add(`${params.missingProperty} is missing: send ${hint(params.missingProperty)}`);
    else if (p.keyword === 'additionalProperties') problems.add(`${params.additionalProperty} is not expected; send only ${fields}`);
    else {
      const field = p.instancePath.split('/')[1];
      problems.add(field ? `${field} must be ${hint(field)}` : `the ${context} must be a JSON object with ${fields}`);
    }
  }
  return `invalid ${context}: ${[...problems].join('; ')}`;
}
