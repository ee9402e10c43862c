// Which code a strangler process runs: the JavaScript that `npm run build` (run by npm install
// and npm ci) compiles into dist/, or the TypeScript sources through tsx's loader.
//
// Compiled is what a long-running proxy should run: tsx's loader lives on a thread with a V8 heap
// of its own, which adds ~20-40 MB of RSS and runs its own full collections (seen: 8-22 ms pauses
// under load, taking the CPU from the proxy on a busy core). The sources win whenever one of them
// is newer than the build, so an edit takes effect without a rebuild.
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** the folders tsconfig.build.json compiles from */
const SOURCE_DIRS = ['proxy', 'services', 'migrations', 'legacy', 'bench'];
/** folders under those that hold no source */
const SKIPPED = new Set(['node_modules', 'results']);
/** the CLI's compiled entry: the build's age is its age */
const STAMP = path.join('proxy', 'cli', 'main.js');

/** A resolver for the repository at `root`; the default one below is this repository's. */
export function createEntryResolver(root) {
  const dist = path.join(root, 'dist');
  let fresh;
  const isBuildFresh = () => {
    if (fresh !== undefined) return fresh;
    let built;
    try {
      built = statSync(path.join(dist, STAMP)).mtimeMs;
    } catch {
      return (fresh = false);
    }
    fresh = SOURCE_DIRS.every((dir) => newestTsMtime(path.join(root, dir)) <= built);
    return fresh;
  };
  const resolveEntry = (sourceFile) => {
    if (!isBuildFresh()) return { file: sourceFile, compiled: false };
    return { file: path.join(dist, path.relative(root, sourceFile).replace(/\.ts$/, '.js')), compiled: true };
  };
  return { isBuildFresh, resolveEntry };
}

function newestTsMtime(dir) {
  let newest = 0;
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return 0;
  }
  for (const entry of entries) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      if (!SKIPPED.has(entry.name)) newest = Math.max(newest, newestTsMtime(full));
    } else if (entry.name.endsWith('.ts')) {
      newest = Math.max(newest, statSync(full).mtimeMs);
    }
  }
  return newest;
}

const resolver = createEntryResolver(path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..'));

/** Is dist/ a build of the current sources (no .ts file changed since)? Asked once per process. */
export const isBuildFresh = resolver.isBuildFresh;

/**
 * The file to run for a TypeScript source of this repository (absolute path): its compiled copy
 * under dist/ when the build is fresh, else the source itself (which then needs tsx).
 */
export const resolveEntry = resolver.resolveEntry;

/** resolveEntry as a file: URL, for import() */
export function resolveEntryUrl(sourceFile) {
  const { file, compiled } = resolveEntry(sourceFile);
  return { url: pathToFileURL(file).href, compiled };
}
