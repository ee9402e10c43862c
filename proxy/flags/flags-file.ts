import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { ClientFeaturesResponse } from 'unleash-client';
import { errors } from '../errors.ts';

/**
 * The local flags file is Unleash's client-features JSON, the body of
 * GET /api/client/features: { "version": 2, "features": [...], "segments"?: [...] }.
 * It can be exported from or imported into an Unleash server unchanged.
 */
export type ClientFeatures = ClientFeaturesResponse;
export type Feature = ClientFeatures['features'][number];

export type ShareChange = { percent: number } | { enabled: boolean };

export function parseFlags(text: string, file: string): ClientFeatures {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw errors.flagsFileInvalid(file, `JSON syntax: ${(err as Error).message}`, err);
  }
  const problems = validateFlags(data);
  if (problems.length > 0) throw errors.flagsFileInvalid(file, problems.join('; '));
  return data as ClientFeatures;
}

/** Returns what is wrong with a parsed flags document; empty when it is usable. */
export function validateFlags(data: unknown): string[] {
  if (!isObject(data)) return ['the top level must be an object { "version": 2, "features": [...] }'];
  const problems: string[] = [];
  if (typeof data.version !== 'number') problems.push('"version" must be a number (2)');
  if (!Array.isArray(data.features)) {
    problems.push('"features" must be a list');
    return problems;
  }
  const seen = new Set<string>();
  data.features.forEach((f: unknown, i: number) => {
    if (!isObject(f) || typeof f.name !== 'string' || f.name === '') {
      problems.push(`features[${i}] needs a "name"`);
      return;
    }
    if (seen.has(f.name)) problems.push(`feature "${f.name}" appears twice`);
    seen.add(f.name);
    if (typeof f.enabled !== 'boolean') problems.push(`feature "${f.name}": "enabled" must be true or false`);
    if (f.strategies !== undefined && !Array.isArray(f.strategies)) problems.push(`feature "${f.name}": "strategies" must be a list`);
    for (const s of (Array.isArray(f.strategies) ? f.strategies : []) as unknown[]) {
      if (!isObject(s) || typeof s.name !== 'string') problems.push(`feature "${f.name}": every strategy needs a "name"`);
    }
  });
  if (data.segments !== undefined && !Array.isArray(data.segments)) problems.push('"segments" must be a list');
  return problems;
}

export async function readFlagsFile(file: string): Promise<ClientFeatures> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw errors.flagsFileInvalid(file, `cannot read it (${(err as NodeJS.ErrnoException).code ?? err})`, err);
  }
  return parseFlags(text, file);
}

/** Write to a temporary file beside the target, then rename: readers never see half a file. */
export async function writeFlagsFile(file: string, data: ClientFeatures): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${randomBytes(4).toString('hex')}.tmp`);
  await writeFile(tmp, `${JSON.stringify(data, null, 2)}\n`, 'utf8');
  await rename(tmp, file);
}

/**
 * A route's share as a flexibleRollout with default stickiness (userId, then sessionId,
 * then random) and groupId = flag name: a user's bucket never changes, so raising the share
 * only ever moves users from legacy to the service.
 */
export function rolloutFeature(flag: string, percent: number, enabled = true): Feature {
  return {
    name: flag,
    type: 'release',
    description: `strangler: share of requests answered by the extracted service`,
    enabled,
    stale: false,
    impressionData: false,
    strategies: [
      {
        name: 'flexibleRollout',
        constraints: [],
        parameters: { rollout: String(percent), stickiness: 'default', groupId: flag },
      },
    ],
    variants: [],
  } as Feature;
}

/** Returns a new document with the flag's share or kill switch changed; other flags untouched. */
export function applyShare(data: ClientFeatures, flag: string, change: ShareChange): ClientFeatures {
  const features = data.features.slice();
  const i = features.findIndex((f) => f.name === flag);
  const current = i >= 0 ? features[i] : rolloutFeature(flag, 0, false);
  // Keep what else an operator set on the flag (description, variants, project); a share
  // replaces its strategies with one plain sticky rollout.
  const next: Feature =
    'percent' in change
      ? { ...current, enabled: true, strategies: rolloutFeature(flag, change.percent).strategies }
      : { ...current, enabled: change.enabled };
  if (i >= 0) features[i] = next;
  else features.push(next);
  return { ...data, features };
}

/** The share a flag gives, as shown to operators; undefined when it is not a plain rollout. */
export function describeShare(data: ClientFeatures, flag: string): { enabled: boolean; percent: number | undefined } | undefined {
  const f = data.features.find((x) => x.name === flag);
  if (!f) return undefined;
  const rollout = f.strategies?.find((s) => s.name === 'flexibleRollout');
  const percent = rollout ? Number((rollout.parameters as Record<string, string> | undefined)?.rollout) : f.strategies?.some((s) => s.name === 'default') ? 100 : undefined;
  return { enabled: f.enabled, percent: Number.isFinite(percent) ? percent : undefined };
}

export function emptyFlags(): ClientFeatures {
  return { version: 2, features: [] };
}

function isObject(v: unknown): v is Record<string, any> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
