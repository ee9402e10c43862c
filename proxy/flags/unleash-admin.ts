import { fetchText } from '../util/fetch-text.ts';
import { errors } from '../errors.ts';

/**
 * Shifting traffic when the flags live on an Unleash server: the same share a local flags file
 * gives (one flexibleRollout strategy, stickiness default, groupId = flag name, see
 * rolloutFeature in flags-file.ts), written through Unleash's admin API.
 */
export interface UnleashAdmin {
  /** creates the flag (type release) in the project when it does not exist yet */
  ensureFlag(name: string): Promise<void>;
  /** creates the flag if needed, sets its rollout strategy to `percent` and enables it in the environment */
  setRollout(name: string, percent: number): Promise<void>;
  /** the kill switch; enabling a flag that has no strategy makes Unleash add its default one (100 %) */
  setEnabled(name: string, enabled: boolean): Promise<void>;
  /** percent: the flag's flexibleRollout share (a "default" strategy counts as 100); undefined when it has neither */
  describe(name: string): Promise<{ enabled: boolean; percent: number | undefined }>;
}

export interface UnleashAdminOptions {
  /** the server's base address, e.g. http://127.0.0.1:4242 (a flags.unleash.url ending in /api is accepted too) */
  url: string;
  /** an admin API token or a personal access token */
  token: string;
  project?: string;
  environment?: string;
}

const DEFAULT_PROJECT = 'default';
// Unleash's open-source edition ships "development" and "production".
const DEFAULT_ENVIRONMENT = 'development';
// An admin call writes a few rows; longer than this the server is stuck, not busy.
const REQUEST_TIMEOUT_MS = 10_000;

interface Strategy {
  id: string;
  name: string;
  title?: string | null;
  disabled?: boolean | null;
  parameters?: Record<string, string>;
  constraints?: unknown[];
  variants?: unknown[];
  segments?: number[];
}

interface FeatureEnvironment {
  enabled: boolean;
  strategies: Strategy[];
}

export function createUnleashAdmin(options: UnleashAdminOptions): UnleashAdmin {
  const base = options.url.replace(/\/+$/, '').replace(/\/api$/, '');
  const project = options.project ?? DEFAULT_PROJECT;
  const environment = options.environment ?? DEFAULT_ENVIRONMENT;
  const features = `/api/admin/projects/${encodeURIComponent(project)}/features`;
  const flagPath = (name: string) => `${features}/${encodeURIComponent(name)}`;
  const environmentPath = (name: string) => `${flagPath(name)}/environments/${encodeURIComponent(environment)}`;

  const call = async <T>(method: 'GET' | 'POST' | 'PUT', path: string, body?: object, accept: number[] = []): Promise<{ status: number; body: T }> => {
    let res: Response;
    let text: string;
    try {
      ({ res, text } = await fetchText(base + path, { method, headers: { authorization: options.token }, body, timeoutMs: REQUEST_TIMEOUT_MS }));
    } catch (err) {
      throw errors.unleashUnreachable(base, (err as { describe?: string }).describe ?? String(err), err);
    }
    let parsed: unknown;
    try {
      // Unleash answers some writes (on/off) with 200 and no body.
      parsed = text === '' ? undefined : JSON.parse(text);
    } catch {
      throw errors.unleashBadResponse(base + path, res.status, `${res.headers.get('content-type') ?? 'no content type'}, not JSON`);
    }
    if (res.ok || accept.includes(res.status)) return { status: res.status, body: parsed as T };
    throw errors.unleashAdmin(method, base + path, res.status, describeUnleashError(parsed));
  };

  const readEnvironment = async (name: string): Promise<FeatureEnvironment> => {
    const { body } = await call<FeatureEnvironment>('GET', environmentPath(name));
    if (typeof body?.enabled !== 'boolean' || !Array.isArray(body.strategies)) {
      throw errors.unleashBadResponse(base + environmentPath(name), 200, 'no {enabled, strategies} in the body');
    }
    return body;
  };

  const setEnabled = async (name: string, enabled: boolean) => {
    await call('POST', `${environmentPath(name)}/${enabled ? 'on' : 'off'}`);
  };

  const ensureFlag = async (name: string) => {
    // 409: the flag exists already, which is what we want
    await call('POST', features, { name, type: 'release', description: 'strangler: share of requests answered by the extracted service' }, [409]);
  };

  return {
    ensureFlag,
    setEnabled,
    async setRollout(name, percent) {
      if (!Number.isInteger(percent) || percent < 0 || percent > 100) throw errors.badPercent(String(percent));
      await ensureFlag(name);
      const current = await readEnvironment(name);
      const parameters = { rollout: String(percent), stickiness: 'default', groupId: name };
      // Other strategies (e.g. one for testers) and the rollout's own constraints stay as an operator set them.
      const rollout = findRollout(current.strategies, name);
      if (rollout) {
        await call('PUT', `${environmentPath(name)}/strategies/${encodeURIComponent(rollout.id)}`, {
          name: 'flexibleRollout',
          title: rollout.title ?? undefined,
          disabled: false,
          parameters: { ...rollout.parameters, ...parameters },
          constraints: rollout.constraints ?? [],
          variants: rollout.variants ?? [],
          // absent from Unleash's answer when there are none; absent in the update leaves them as they are
          segments: rollout.segments,
        });
      } else {
        await call('POST', `${environmentPath(name)}/strategies`, { name: 'flexibleRollout', parameters, constraints: [] });
      }
      if (!current.enabled) await setEnabled(name, true);
    },
    async describe(name) {
      const { enabled, strategies } = await readEnvironment(name);
      const rollout = findRollout(strategies, name);
      const percent = rollout ? Number(rollout.parameters?.rollout) : strategies.some((s) => s.name === 'default' && !s.disabled) ? 100 : undefined;
      return { enabled, percent: Number.isFinite(percent) ? percent : undefined };
    },
  };
}

/** The strategy strangler manages: the flexibleRollout grouped by the flag's name, else the first one. */
function findRollout(strategies: Strategy[], flag: string): Strategy | undefined {
  const rollouts = strategies.filter((s) => s.name === 'flexibleRollout' && !s.disabled);
  return rollouts.find((s) => s.parameters?.groupId === flag) ?? rollouts[0];
}

/** Unleash's error bodies are { name, message, details: [{ message }] }; the details say more. */
function describeUnleashError(body: unknown): string {
  const b = body as { message?: unknown; details?: Array<{ message?: unknown }> } | undefined;
  const detail = b?.details?.[0]?.message ?? b?.message;
  return typeof detail === 'string' ? detail : 'no message';
}

/** "ECONNREFUSED", "no answer within 10000 ms", … */
