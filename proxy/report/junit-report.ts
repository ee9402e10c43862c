import type { ParityReport, RouteParity } from '../parity/records.ts';

/**
 * The parity report as JUnit XML, so a CI job fails on a route whose service answers too
 * differently: one test case per route, failing below minParity, skipped when nothing was compared.
 */

export interface JunitReportOptions {
  /** parity in percent a route must reach to pass, e.g. 99.5 */
  minParity: number;
}

const SUITE_NAME = 'strangler parity';

/** The whole report as one JUnit XML document. */
export function renderJunitReport(report: ParityReport, options: JunitReportOptions): string {
  let failures = 0;
  let skipped = 0;
  const cases = report.routes.map((route) => {
    const open = `    <testcase classname="parity" name="${escapeXml(route.route)}">`;
    if (route.parity === null || route.compared === 0) {
      skipped++;
      return `${open}\n      <skipped message="no comparisons"/>\n    </testcase>`;
    }
    if (route.parity < options.minParity) {
      failures++;
      const message = `parity ${formatParity(route.parity)} % below ${options.minParity} %`;
      return `${open}\n      <failure message="${escapeXml(message)}" type="parity">${escapeXml(describeFailure(route))}</failure>\n    </testcase>`;
    }
    return `    <testcase classname="parity" name="${escapeXml(route.route)}"/>`;
  });
  const counts = `tests="${report.routes.length}" failures="${failures}" errors="0" skipped="${skipped}"`;
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="${SUITE_NAME}" ${counts}>`,
    `  <testsuite name="${SUITE_NAME}" ${counts} timestamp="${escapeXml(report.generatedAt)}">`,
    '    <properties>',
    `      <property name="window.from" value="${escapeXml(report.window.from)}"/>`,
    `      <property name="window.to" value="${escapeXml(report.window.to)}"/>`,
    `      <property name="source" value="${escapeXml(report.source)}"/>`,
    `      <property name="minParity" value="${options.minParity}"/>`,
    '    </properties>',
    ...cases,
    '  </testsuite>',
    '</testsuites>',
    '',
  ].join('\n');
}

/** What a reader of the CI log needs to start looking: the counts, the paths, the errors. */
function describeFailure(route: RouteParity): string {
  const lines = [
    `${route.matches} of ${route.compared} comparisons matched: ${route.mismatches} mismatches, ${route.candidateErrors} candidate errors (${route.skipped} skipped)`,
  ];
  if (route.topDifferences.length) {
    lines.push('', 'differing paths:');
    for (const d of route.topDifferences) {
      lines.push(`  ${d.count} × ${d.pattern}  e.g. ${d.example.request}: legacy ${formatValue(d.example.legacy)}, service ${formatValue(d.example.service)}`);
    }
  }
  if (route.topErrors.length) {
    lines.push('', 'candidate errors:');
    for (const e of route.topErrors) lines.push(`  ${e.count} × ${e.reason}`);
  }
  return lines.join('\n');
}

/** Two decimals, rounded down: 99.499 shows as 99.49, never as a passing 99.50. */
function formatParity(parity: number): string {
  return (Math.floor(parity * 100 + 1e-9) / 100).toFixed(2);
}

function formatValue(value: unknown): string {
  return value === undefined ? '(absent)' : JSON.stringify(value);
}

const XML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' };
/** Characters XML 1.0 does not allow at all, escaped or not (control characters, lone surrogates). */
const NOT_XML = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu;

function escapeXml(text: string): string {
  return text.replace(NOT_XML, '\uFFFD').replace(/[&<>"']/g, (c) => XML_ESCAPES[c]);
}
