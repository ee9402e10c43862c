import { decodeJson, NOT_JSON } from '../comparison/body.ts';
import { formatPath, type Segment } from '../comparison/json-path.ts';
import { isDeeperThan, MAX_JSON_DEPTH } from '../comparison/json-value.ts';
import type { Difference } from '../comparison/types.ts';
import type { ComparisonRecord, DifferingPath, ParityReport, RouteParity, StoredResponse } from '../parity/records.ts';

/**
 * The parity report as one self-contained HTML page for QA: a table of routes by parity, what
 * differs per route, and side-by-side views of example comparisons where every JSON node carries
 * its concrete path (`data-path`, the syntax of Difference.path) and differing nodes the class
 * `diff`. Bodies are shown as stored: decoded from their Content-Encoding (noted). Long values
 * wrap, so the page fits the window. Everything that came from traffic or config is escaped;
 * the page loads nothing.
 */

/** Parity at or above this is green; at or above WARN_PARITY amber; below, red. */
const GOOD_PARITY = 99.5;
const WARN_PARITY = 95;

const STYLE = `
body { font: 14px/1.45 system-ui, sans-serif; margin: 1.5em; color: #1d1d1f; overflow-wrap: break-word; }
h1 { margin: 0 0 .2em; } h2 { margin-top: 2em; border-bottom: 1px solid #ddd; } h3 { margin-bottom: .3em; }
table { border-collapse: collapse; margin: .4em 0 1em; max-width: 100%; }
/* long values (URLs, tokens, HTML in JSON) wrap anywhere, so the page fits the window */
.value, td code, h3 code, .headers td { overflow-wrap: anywhere; }
.differences td:first-child, .differing-paths td:first-child { min-width: 8em; }
th, td { border: 1px solid #ddd; padding: .25em .6em; text-align: left; vertical-align: top; }
th { background: #f5f5f7; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
code, pre, .json, .value { font: 12px/1.4 ui-monospace, SFMono-Regular, Menlo, monospace; }
.meta { color: #555; margin: 0 0 1em; }
.parity-good { background: #d8f5d8; } .parity-warn { background: #fff0c2; } .parity-bad { background: #ffd6d6; } .parity-none { color: #777; }
.sides { display: grid; grid-template-columns: minmax(0, 1fr) minmax(0, 1fr); gap: 1em; }
.side { border: 1px solid #ccc; border-radius: 4px; padding: .5em; min-width: 0; overflow-x: auto; }
.side h4 { margin: 0 0 .4em; }
.status { font-weight: bold; font-family: ui-monospace, monospace; padding: 0 .2em; }
.headers th, .headers td { font: 12px ui-monospace, monospace; border: none; padding: 0 .6em 0 0; background: none; }
.headers th { white-space: nowrap; }
.body-text { white-space: pre-wrap; word-break: break-all; margin: .4em 0 0; }
.json { margin-top: .4em; white-space: pre-wrap; word-break: break-all; }
.json .node .node { margin-left: 1.5em; }
.key { color: #7a3e9d; } .j-str { color: #0b6e2e; } .j-num { color: #1750a0; } .j-bool, .j-null { color: #a0521d; }
.legacy .diff { background: #ffd6d6; } .service .diff { background: #c9f2c9; }
.noise { background: #ececec; }
.note { color: #777; font-style: italic; }
.example { margin-bottom: 2.5em; }
`;

/** The whole report as one HTML document. */
export function renderHtmlReport(report: ParityReport): string {
  const title = `Strangler parity report, ${report.generatedAt}`;
  const parts = [
    '<!doctype html>',
    '<html lang="en"><head><meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${escapeHtml(title)}</title>`,
    `<style>${STYLE}</style>`,
    '</head><body>',
    '<h1>Strangler parity report</h1>',
    `<p class="meta">generated <time>${escapeHtml(report.generatedAt)}</time> · window <time>${escapeHtml(report.window.from)}</time> – <time>${escapeHtml(report.window.to)}</time> · source ${escapeHtml(report.source)}</p>`,
    renderRouteTable(report.routes),
    ...report.routes.map(renderRouteDetails),
  ];
  if (report.examples.length) {
    parts.push('<h2 id="examples">Example comparisons</h2>');
    report.examples.forEach((record, i) => parts.push(renderExample(record, i)));
  }
  parts.push('</body></html>');
  return parts.join('\n');
}

function renderRouteTable(routes: RouteParity[]): string {
  if (!routes.length) return '<p class="note">No comparisons in this window.</p>';
  const rows = routes.map(
    (r, i) =>
      `<tr data-route="${escapeHtml(r.route)}"><td><a href="#route-${i}">${escapeHtml(r.route)}</a></td>` +
      `<td class="num">${escapeHtml(r.compared)}</td><td class="num">${escapeHtml(r.matches)}</td><td class="num">${escapeHtml(r.mismatches)}</td>` +
      `<td class="num">${escapeHtml(r.candidateErrors)}</td><td class="num">${escapeHtml(r.skipped)}</td>` +
      `<td class="num parity ${parityClass(r.parity)}">${escapeHtml(formatParity(r.parity))}</td></tr>`,
  );
  return (
    '<table class="routes"><thead><tr><th>route</th><th>compared</th><th>matches</th><th>mismatches</th>' +
    '<th>candidate errors</th><th>skipped</th><th>parity</th></tr></thead><tbody>\n' +
    rows.join('\n') +
    '\n</tbody></table>'
  );
}

function renderRouteDetails(route: RouteParity, i: number): string {
  const parts = [`<section class="route" id="route-${i}">`, `<h2>${escapeHtml(route.route)} <span class="parity ${parityClass(route.parity)}">${escapeHtml(formatParity(route.parity))}</span></h2>`];
  if (route.topDifferences.length) {
    parts.push('<h3>Top differing paths</h3>', renderDifferingPaths(route.topDifferences));
  }
  if (route.topErrors.length) {
    parts.push(
      '<h3>Candidate errors</h3><table class="errors"><thead><tr><th>reason</th><th>count</th></tr></thead><tbody>',
      ...route.topErrors.map((e) => `<tr><td>${escapeHtml(e.reason)}</td><td class="num">${escapeHtml(e.count)}</td></tr>`),
      '</tbody></table>',
    );
  }
  if (route.noise.length) {
    parts.push(
      '<h3>Learned noise</h3><table class="noise-fields"><thead><tr><th>pattern</th><th>kind</th><th>count</th><th>suggestion</th></tr></thead><tbody>',
      ...route.noise.map(
        (n) =>
          `<tr><td><code>${escapeHtml(n.pattern)}</code></td><td>${escapeHtml(n.kind)}</td><td class="num">${escapeHtml(n.count)}</td><td><code>${escapeHtml(n.suggestion)}</code></td></tr>`,
      ),
      '</tbody></table>',
    );
  }
  if (!route.topDifferences.length && !route.topErrors.length && !route.noise.length) parts.push('<p class="note">Nothing differed.</p>');
  parts.push('</section>');
  return parts.join('\n');
}

function renderDifferingPaths(paths: DifferingPath[]): string {
  const rows = paths.map(
    (p) =>
      `<tr><td><code>${escapeHtml(p.pattern)}</code></td><td class="num">${escapeHtml(p.count)}</td>` +
      `<td><code>${escapeHtml(p.example.request)}</code><br><small>${escapeHtml(p.example.at)} · <code>${escapeHtml(p.example.path)}</code></small></td>` +
      `<td class="value">${escapeHtml(formatValue(p.example.legacy))}</td><td class="value">${escapeHtml(formatValue(p.example.service))}</td></tr>`,
  );
  return (
    '<table class="differing-paths"><thead><tr><th>pattern</th><th>count</th><th>example request</th><th>legacy</th><th>service</th></tr></thead><tbody>\n' +
    rows.join('\n') +
    '\n</tbody></table>'
  );
}

function renderExample(record: ComparisonRecord, i: number): string {
  const diffPaths = new Set(record.differences.map((d) => d.path));
  const noisePaths = new Set(record.noise);
  const parts = [
    `<section class="example" id="example-${i}" data-route="${escapeHtml(record.route)}">`,
    `<h3>${escapeHtml(record.route)}: <code>${escapeHtml(record.request.method)} ${escapeHtml(record.request.url)}</code></h3>`,
    `<p class="meta">${escapeHtml(record.outcome)} · <time>${escapeHtml(record.at)}</time> · ${escapeHtml(record.source)} · primary ${escapeHtml(record.primary)}` +
      (record.reason ? ` · ${escapeHtml(record.reason)}` : '') +
      '</p>',
    renderDifferences(record.differences),
    '<div class="sides">',
    renderSide('legacy', 'legacy', record.legacy, record.legacyMs, diffPaths, noisePaths),
    renderSide('service', record.service, record.serviceResponse, record.serviceMs, diffPaths, noisePaths),
    '</div></section>',
  ];
  return parts.join('\n');
}

function renderDifferences(differences: Difference[]): string {
  if (!differences.length) return '<p class="note">No differences listed.</p>';
  const rows = differences.map(
    (d) =>
      `<tr><td><code>${escapeHtml(d.path)}</code></td><td>${escapeHtml(d.kind)}</td>` +
      `<td class="value">${escapeHtml(formatValue(d.primary))}</td><td class="value">${escapeHtml(formatValue(d.candidate))}</td></tr>`,
  );
  return (
    '<table class="differences"><thead><tr><th>path</th><th>kind</th><th>legacy</th><th>service</th></tr></thead><tbody>\n' +
    rows.join('\n') +
    '\n</tbody></table>'
  );
}

function renderSide(
  side: 'legacy' | 'service',
  name: string,
  response: StoredResponse | undefined,
  ms: number | undefined,
  diffPaths: ReadonlySet<string>,
  noisePaths: ReadonlySet<string>,
): string {
  const timing = ms === undefined ? '' : ` · ${escapeHtml(ms)} ms`;
  const heading = `<h4>${side === 'legacy' ? 'legacy' : `service ${escapeHtml(name)}`}${timing}</h4>`;
  if (!response) return `<div class="side ${side}">${heading}<p class="note">no response</p></div>`;
  const status = `<div class="status${diffPaths.has('status') ? ' diff' : ''}" data-path="status">HTTP ${escapeHtml(response.status)}</div>`;
  const headerRows = Object.entries(response.headers).map(([header, value]) => {
    const path = `headers.${header.toLowerCase()}`;
    return `<tr class="${pathClass(path, diffPaths, noisePaths)}" data-path="${escapeHtml(path)}"><th>${escapeHtml(header)}:</th><td>${escapeHtml(value)}</td></tr>`;
  });
  const headers = headerRows.length ? `<table class="headers">${headerRows.join('')}</table>` : '';
  return `<div class="side ${side}">${heading}${status}${headers}${renderBody(response, diffPaths, noisePaths)}</div>`;
}

function renderBody(response: StoredResponse, diffPaths: ReadonlySet<string>, noisePaths: ReadonlySet<string>): string {
  const bodyClass = `body ${pathClass('body', diffPaths, noisePaths)}`;
  const cut = (response.truncated ? '<p class="note">body cut at the storage cap</p>' : '') + (response.decodedFrom ? `<p class="note decoded">decoded from ${escapeHtml(response.decodedFrom)}</p>` : '');
  const coding = response.decodedFrom ? undefined : Object.entries(response.headers).find(([name]) => name.toLowerCase() === 'content-encoding')?.[1];
  if (response.bodyEncoding === 'base64') {
    const bytes = Buffer.byteLength(response.body, 'base64');
    const what = coding && coding !== 'identity' ? `${coding}-coded, stored before strangler decoded bodies` : 'binary';
    return `<div class="${bodyClass}" data-path="body"><p class="note">${escapeHtml(what)}, ${escapeHtml(bytes)} bytes</p>${cut}</div>`;
  }
  if (response.body === '') return `<div class="${bodyClass}" data-path="body"><p class="note">empty body</p></div>`;
  const json = decodeJson(Buffer.from(response.body, 'utf8'));
  // renderJson recurses per level: JSON deeper than the comparison walks is shown as text
  if (json !== NOT_JSON && !isDeeperThan(json, MAX_JSON_DEPTH)) {
    const out: string[] = [];
    renderJson(json, [], undefined, true, false, false, diffPaths, noisePaths, out);
    return `<div class="${bodyClass}" data-path="body"><div class="json">${out.join('')}</div>${cut}</div>`;
  }
  return `<div class="${bodyClass}" data-path="body"><pre class="body-text">${escapeHtml(response.body)}</pre>${cut}</div>`;
}

/**
 * One JSON node as a block: its key (inside an object), its value, and for arrays and objects
 * its children indented. A node is `diff` when a difference names it or one of its ancestors.
 */
function renderJson(
  value: unknown,
  segments: Segment[],
  key: string | undefined,
  last: boolean,
  inDiff: boolean,
  inNoise: boolean,
  diffPaths: ReadonlySet<string>,
  noisePaths: ReadonlySet<string>,
  out: string[],
): void {
  const path = formatPath(segments);
  const diff = inDiff || diffPaths.has(path);
  const noise = inNoise || noisePaths.has(path);
  const classes = `node${diff ? ' diff' : ''}${noise && !diff ? ' noise' : ''}`;
  const label = key === undefined ? '' : `<span class="key">${escapeHtml(JSON.stringify(key))}</span>: `;
  const comma = last ? '' : ',';
  out.push(`<div class="${classes}" data-path="${escapeHtml(path)}">${label}`);
  if (value === null || typeof value !== 'object') {
    out.push(`<span class="${scalarClass(value)}">${escapeHtml(JSON.stringify(value))}</span>${comma}</div>`);
    return;
  }
  const isArray = Array.isArray(value);
  const [open, close] = isArray ? ['[', ']'] : ['{', '}'];
  const keys = isArray ? undefined : Object.keys(value);
  const length = isArray ? value.length : keys!.length;
  if (length === 0) {
    out.push(`${open}${close}${comma}</div>`);
    return;
  }
  out.push(open);
  for (let i = 0; i < length; i++) {
    const childKey = isArray ? undefined : keys![i];
    const child = isArray ? value[i] : (value as Record<string, unknown>)[childKey!];
    segments.push(isArray ? i : childKey!);
    renderJson(child, segments, childKey, i === length - 1, diff, noise, diffPaths, noisePaths, out);
    segments.pop();
  }
  out.push(`<div class="close">${close}${comma}</div></div>`);
}

function pathClass(path: string, diffPaths: ReadonlySet<string>, noisePaths: ReadonlySet<string>): string {
  if (diffPaths.has(path)) return 'diff';
  return noisePaths.has(path) ? 'noise' : '';
}

function scalarClass(value: unknown): string {
  if (value === null) return 'j-null';
  if (typeof value === 'string') return 'j-str';
  if (typeof value === 'number') return 'j-num';
  return 'j-bool';
}

function parityClass(parity: number | null): string {
  if (parity === null) return 'parity-none';
  if (parity >= GOOD_PARITY) return 'parity-good';
  return parity >= WARN_PARITY ? 'parity-warn' : 'parity-bad';
}

/** Two decimals, rounded down: 99.499 shows as 99.49, never as a passing 99.50. */
function formatParity(parity: number | null): string {
  if (parity === null) return '—';
  return `${(Math.floor(parity * 100 + 1e-9) / 100).toFixed(2)} %`;
}

/** A value of a difference as JSON text, so 1 and "1" read differently; absent as such. */
function formatValue(value: unknown): string {
  return value === undefined ? '(absent)' : JSON.stringify(value);
}

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Every value that reaches the page goes through here, numbers too: a report read from a file is only as typed as its author. */
function escapeHtml(value: unknown): string {
  return String(value).replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]);
}
