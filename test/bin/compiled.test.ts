import { utimesSync } from 'node:fs';
import path from 'node:path';
import t, { type Test } from 'tap';
import { createEntryResolver } from '../../bin/compiled.js';

const SOURCE = path.join('proxy', 'cli', 'main.ts');

/** A repository whose files have the given ages in seconds (older = smaller). */
function repoWith(t: Test, files: Record<string, number>): string {
  const tree: Record<string, unknown> = {};
  for (const file of Object.keys(files)) {
    let dir = tree;
    const parts = file.split('/');
    for (const part of parts.slice(0, -1)) dir = (dir[part] ??= {}) as Record<string, unknown>;
    dir[parts.at(-1)!] = '// x\n';
  }
  const root = t.testdir(tree as Parameters<typeof t.testdir>[0]);
  for (const [file, at] of Object.entries(files)) utimesSync(path.join(root, file), at, at);
  return root;
}

t.test('runs the sources when there is no build', async (t) => {
  const root = repoWith(t, { 'proxy/cli/main.ts': 1000 });
  const resolver = createEntryResolver(root);
  t.equal(resolver.isBuildFresh(), false);
  t.same(resolver.resolveEntry(path.join(root, SOURCE)), { file: path.join(root, SOURCE), compiled: false });
});

t.test('runs the compiled copy when it is newer than every source', async (t) => {
  const root = repoWith(t, { 'proxy/cli/main.ts': 1000, 'services/rooms/app.ts': 1500, 'dist/proxy/cli/main.js': 2000 });
  const resolver = createEntryResolver(root);
  t.equal(resolver.isBuildFresh(), true);
  t.same(resolver.resolveEntry(path.join(root, 'bench', 'proxy-server.ts')), { file: path.join(root, 'dist', 'bench', 'proxy-server.js'), compiled: true });
});

t.test('runs the sources when one of them was edited after the build, however deep', async (t) => {
  const root = repoWith(t, { 'proxy/cli/main.ts': 1000, 'services/rooms/routes/rooms.ts': 3000, 'dist/proxy/cli/main.js': 2000 });
  t.equal(createEntryResolver(root).isBuildFresh(), false);
});

t.test('what is not a source does not make the build stale', async (t) => {
  const root = repoWith(t, {
    'proxy/cli/main.ts': 1000,
    'dist/proxy/cli/main.js': 2000,
    'bench/results/run.json': 3000,
    'legacy/public/index.php': 3000,
    'test/proxy/new.test.ts': 3000,
  });
  t.equal(createEntryResolver(root).isBuildFresh(), true);
});
