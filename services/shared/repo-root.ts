import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The repository this code runs from: the nearest folder above this module with a package.json.
 * The same whether it runs as TypeScript source or as its compiled copy under dist/, which has
 * no package.json of its own (a path relative to import.meta.url would differ by one level).
 */
export const REPO_ROOT = findRepoRoot(path.dirname(fileURLToPath(import.meta.url)));

function findRepoRoot(from: string): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'package.json'))) return dir;
    if (path.dirname(dir) === dir) throw new Error(`no package.json above ${from}: strangler must run from its repository`);
  }
}
