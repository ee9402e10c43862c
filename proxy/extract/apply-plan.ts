import { randomBytes } from 'node:crypto';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { ExtractionPlan } from './plan-extraction.ts';

/**
 * Writes a plan's files. A new file is created exclusively (never over one that appeared since
 * the plan was made); a changed file is written beside itself and renamed over, so the proxy
 * watching routes.yaml or the flags file never reads half of one.
 */
export async function applyPlan(plan: ExtractionPlan): Promise<void> {
  for (const write of plan.writes) {
    await mkdir(path.dirname(write.file), { recursive: true });
    if (write.action === 'create') {
      await writeFile(write.file, write.content, { encoding: 'utf8', flag: 'wx' });
      continue;
    }
    const tmp = path.join(path.dirname(write.file), `.${path.basename(write.file)}.${randomBytes(4).toString('hex')}.tmp`);
    await writeFile(tmp, write.content, 'utf8');
    await rename(tmp, write.file);
  }
}
