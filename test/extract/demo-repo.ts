import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Test } from 'tap';
import { applyPlan } from '../../proxy/extract/apply-plan.ts';
import { planExtraction, type ExtractOptions } from '../../proxy/extract/plan-extraction.ts';

/** The repository these tests run in: the code a test repository links to. */
export const REPO = fileURLToPath(new URL('../../', import.meta.url));
/** Nothing listens on the discard port: extract's own recording from legacy gets a refusal at once. */
export const NO_LEGACY = 'http://127.0.0.1:9';

/**
 * routes.yaml without one service and the routes that send traffic to it: the real file now
 * holds the diaries service made with extract, and the tests extract it again from scratch.
 * A service is one line under services:; a route is its `- ` line and every line indented
 * deeper than its dash.
 */
export function withoutService(source: string, service: string): string {
  const lines = source.split('\n');
  const out: string[] = [];
  const serviceLine = new RegExp(`^\\s+${service}:\\s`);
  const routeService = new RegExp(`^\\s*(- )?service:\\s*${service}\\s*(#.*)?$`);
  let section = '';
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    const top = /^([A-Za-z_]+):/.exec(line);
    if (top) section = top[1];
    if (section === 'services' && serviceLine.test(line)) continue;
    const item = section === 'routes' ? /^(\s*)- /.exec(line) : null;
    if (item) {
      let end = i + 1;
      while (end < lines.length && lines[end].trim() !== '' && indentOf(lines[end]) > item[1].length) end++;
      if (lines.slice(i, end).some((l) => routeService.test(l))) {
        i = end - 1;
        continue;
      }
    }
    out.push(line);
  }
  return out.join('\n');
}

function indentOf(line: string): number {
  return /^\s*/.exec(line)![0].length;
}

/**
 * The demo config, comments and all, as it was before diaries was extracted: what an engineer
 * runs extract against. Legacy points where nothing listens, so no test asks a real server
 * unless it says which.
 */
export const DEMO_ROUTES = withoutService(readFileSync(path.join(REPO, 'routes.yaml'), 'utf8'), 'diaries').replace(/^legacy: \S+/m, `legacy: ${NO_LEGACY}`);

/** DEMO_ROUTES with legacy at `url`. */
export function demoRoutesWithLegacy(url: string): string {
  return DEMO_ROUTES.replace(/^legacy: \S+/m, `legacy: ${url}`);
}

/**
 * A fresh repository in a test folder: routes.yaml, and the code generated files import, linked
 * to this repository's. Generated files land here, never in the real services/ or test/.
 */
export function makeRepo(t: Test, routesYaml = DEMO_ROUTES): string {
  const link = (...parts: string[]) => t.fixture('symlink', path.join(REPO, ...parts));
  return t.testdir({
    'routes.yaml': routesYaml,
    proxy: link('proxy'),
    legacy: link('legacy'),
    migrations: { 'migrate.ts': link('migrations', 'migrate.ts') },
    services: { shared: link('services', 'shared') },
    test: { helpers: link('test', 'helpers') },
  });
}

export async function extract(options: ExtractOptions) {
  const plan = await planExtraction(options);
  await applyPlan(plan);
  return plan;
}

/** Runs a TypeScript file with node --import tsx, as a person would; resolves with its exit code and output. */
export function runTsFile(file: string, options: { cwd: string; env?: NodeJS.ProcessEnv }): Promise<{ code: number; stdout: string; stderr: string }> {
  const env = { ...process.env, ...options.env };
  // a filter on this run (tap --grep, --only) is not one on the file it runs
  for (const name of ['TAP_GREP', 'TAP_ONLY', 'TAP_INVERT']) delete env[name];
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', file], { cwd: options.cwd, env, timeout: 90_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}
