import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import type { Config } from '../config/schema.ts';
import { errors } from '../errors.ts';
import { createDb, describeDatabase, parseDatabaseUrl } from '../../services/shared/database.ts';
import { openComparisonStore, type ComparisonStore } from './comparison-store.ts';

/**
 * The proxy's store as routes.yaml configures it, or null when no route compares. A store that
 * cannot be opened is reported and the proxy serves without one: comparisons must never be a
 * reason for the proxy to stop forwarding.
 */
export async function openConfiguredStore(config: Config, logger: Logger): Promise<ComparisonStore | null> {
  if (!config.routes.some((r) => r.stage === 'shadow' || (r.stage === 'canary' && r.shadow.reverse))) return null;
  try {
    const store = await openStore(config, logger);
    logger.info({ database: describeDatabase(config.comparisons.database) }, 'comparison store open');
    return store;
  } catch (err) {
    logger.error({ err }, 'comparisons are counted but not stored');
    return null;
  }
}

/** Opens config.comparisons.database (migrating it), for the proxy and the CLI; throws STRANGLER_ERR_COMPARISON_STORE. */
export async function openStore(config: Config, logger?: Logger): Promise<ComparisonStore> {
  const { database, retentionMs, maxRows } = config.comparisons;
  const described = describeDatabase(database);
  const target = parseDatabaseUrl(database);
  if (target.kind === 'sqlite') mkdirSync(path.dirname(target.filename), { recursive: true });
  const db = createDb(database);
  try {
    return await openComparisonStore(db, { retentionMs, maxRows, logger });
  } catch (err) {
    await db.destroy().catch(() => {});
    throw errors.comparisonStoreUnavailable(described, err);
  }
}
