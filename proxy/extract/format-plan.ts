import type { ExtractionPlan, FileWrite } from './plan-extraction.ts';

/** What `strangler extract` prints: the plan (dry run) or what was done, and what comes next. */

const CONTEXT_LINES = 2;

export function formatPlan(plan: ExtractionPlan, { dryRun }: { dryRun: boolean }): string {
  const { service, route } = plan;
  const head =
    `${plan.method} ${plan.path} → service ${service.name}${service.isNew ? ' (new)' : ''} at ${service.url}, ` +
    `route ${route.name}${route.isNew ? ' (new, stage shadow)' : ''}`;
  if (plan.writes.length === 0) {
    return [`${head}`, '', 'nothing to do: every file of this extraction is already in place.', ...formatNotes(plan)].join('\n');
  }
  const verb = (w: FileWrite) => (dryRun ? `would ${w.action}` : w.action === 'create' ? 'created' : 'updated');
  const width = Math.max(...plan.writes.map((w) => verb(w).length));
  const fileWidth = Math.max(...plan.writes.map((w) => w.relative.length));
  const lines = [dryRun ? `${head} (dry run: nothing written)` : head, ''];
  for (const w of plan.writes) lines.push(`  ${verb(w).padEnd(width)}  ${w.relative.padEnd(fileWidth)}  ${w.summary}`);
  for (const k of plan.kept) lines.push(`  ${'kept'.padEnd(width)}  ${k}`);
  for (const w of plan.writes) {
    if (!w.showDiff || w.previous === undefined) continue;
    lines.push('', formatUnifiedDiff(w.previous, w.content, w.relative).trimEnd());
  }
  lines.push(...formatNotes(plan));
  if (!dryRun && route.isNew) lines.push('', ...formatNextSteps(plan));
  return lines.join('\n');
}

function formatNotes(plan: ExtractionPlan): string[] {
  return plan.notes.length > 0 ? ['', ...plan.notes.map((n) => `note: ${n}`)] : [];
}

function formatNextSteps(plan: ExtractionPlan): string[] {
  const { service, route } = plan;
  const port = new URL(service.url).port;
  return [
    'Next:',
    `  1. implement services/${service.name}/routes/${route.name}.ts (it answers 501 until then)`,
    `  2. DATABASE_URL=<legacy's database> npx tap test/services/${service.name}/${route.name}.contract.test.ts   (TODO until the handler answers; CONTRACT_LIVE=1: also against live legacy)`,
    `  3. DATABASE_URL=… PORT=${port} node --import tsx services/${service.name}/server.ts, run the proxy, then npx strangler parity ${route.name}`,
    `  4. npx strangler shift ${route.name} 5   (flag ${route.flag}, at 0 % now)`,
  ];
}

/** A unified diff of two texts (lines), as `diff -u` prints it. */
export function formatUnifiedDiff(before: string, after: string, name: string): string {
  const a = toLines(before);
  const b = toLines(after);
  const ops = diffLines(a, b);
  const out = [`--- a/${name}`, `+++ b/${name}`];
  let i = 0;
  while (i < ops.length) {
    if (ops[i].op === ' ') {
      i++;
      continue;
    }
    // one hunk: from CONTEXT_LINES before this change to CONTEXT_LINES after the last change
    // that is closer than 2 * CONTEXT_LINES to the previous one
    const start = Math.max(0, i - CONTEXT_LINES);
    let end = i;
    while (end < ops.length) {
      let next = end;
      while (next < ops.length && ops[next].op === ' ') next++;
      if (next >= ops.length || next - end > 2 * CONTEXT_LINES) break;
      end = next + 1;
    }
    end = Math.min(ops.length, end + CONTEXT_LINES);
    const hunk = ops.slice(start, end);
    const aStart = hunk[0].a;
    const bStart = hunk[0].b;
    const aCount = hunk.filter((o) => o.op !== '+').length;
    const bCount = hunk.filter((o) => o.op !== '-').length;
    out.push(`@@ -${aStart + 1},${aCount} +${bStart + 1},${bCount} @@`);
    for (const o of hunk) out.push(`${o.op}${o.text}`);
    i = end;
  }
  return `${out.join('\n')}\n`;
}

function toLines(text: string): string[] {
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}

interface DiffOp {
  op: ' ' | '-' | '+';
  text: string;
  /** index in before / after where this line is (or would be) */
  a: number;
  b: number;
}

/** Longest-common-subsequence line diff; the files here are a few hundred lines at most. */
function diffLines(a: string[], b: string[]): DiffOp[] {
  const n = a.length;
  const m = b.length;
  const lcs: Uint32Array[] = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
  for (let i = n - 1; i >= 0; i--) for (let j = m - 1; j >= 0; j--) lcs[i][j] = a[i] === b[j] ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1]);
  const ops: DiffOp[] = [];
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && a[i] === b[j]) ops.push({ op: ' ', text: a[i], a: i++, b: j++ });
    else if (j < m && (i >= n || lcs[i][j + 1] >= lcs[i + 1][j])) ops.push({ op: '+', text: b[j], a: i, b: j++ });
    else ops.push({ op: '-', text: a[i], a: i++, b: j });
  }
  return ops;
}
