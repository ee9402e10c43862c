import type { ComparisonOutcome, Difference } from '../comparison/types.ts';
import type { NoiseEntry } from '../comparison/noise.ts';

/**
 * The shapes a parallel run leaves behind: stored comparisons, recorded traffic, and the parity
 * report built from them. Shared by the shadow stage, the store, replay and the reports.
 */

/** A response as stored: headers redacted, body as text (base64 when not UTF-8), cut at a cap. */
export interface StoredResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
  bodyEncoding: 'utf8' | 'base64';
  /** the body was cut at the storage cap */
  truncated: boolean;
  /** the body is stored decoded from this Content-Encoding (headers keep the header as sent) */
  decodedFrom?: string;
}

/** What was asked: enough to read a report and to send the request again. */
export interface RequestSummary {
  method: string;
  /** path with query string, as the client sent it */
  url: string;
  /** chosen request headers, redacted */
  headers: Record<string, string>;
  /** request body as stored (redacted, cut at the cap); absent when there was none */
  body?: string;
  bodyEncoding?: 'utf8' | 'base64';
  /** the body was cut at a cap: replay cannot send it again */
  truncated?: boolean;
}

/** Where a comparison came from: live traffic through the proxy, or a replayed recording. */
export type ComparisonSource = 'shadow' | 'replay';

/**
 * One comparison. Orientation is always legacy (expected) against service (actual), whichever
 * answered the client, so a difference reads the same way in shadow and in canary.
 */
export interface ComparisonRecord {
  /** ISO 8601, when the request arrived */
  at: string;
  route: string;
  source: ComparisonSource;
  outcome: ComparisonOutcome;
  /** which side answered the client: 'legacy' or the service's name */
  primary: string;
  /** the service's name */
  service: string;
  request: RequestSummary;
  /** absent when that side gave no response (refused, reset, timed out) or was not called */
  legacy?: StoredResponse;
  serviceResponse?: StoredResponse;
  differences: Difference[];
  /** concrete paths that differed but are known noise */
  noise: string[];
  reason?: string;
  /** milliseconds each side took to answer completely */
  legacyMs?: number;
  serviceMs?: number;
}

/** One line of a recording file (JSONL): a real request and legacy's answer to it. */
export interface RecordedExchange {
  /** ISO 8601 */
  at: string;
  /** the route it matched when recorded; replay re-matches by method and path when absent */
  route?: string;
  request: RequestSummary;
  /** legacy's answer when recorded; replay calls legacy again and compares with the service */
  response?: StoredResponse;
}

/** The most frequent way a route's service answers differently, with one example. */
export interface DifferingPath {
  /** generalised pattern: array indexes become [*] */
  pattern: string;
  count: number;
  example: { at: string; request: string; path: string; legacy?: unknown; service?: unknown };
}

/**
 * Parity of one route over a time window. parity = matches / (matches + mismatches +
 * candidateErrors), in percent; skipped comparisons are counted but not part of it; null when
 * nothing was compared.
 */
export interface RouteParity {
  route: string;
  matches: number;
  mismatches: number;
  candidateErrors: number;
  skipped: number;
  /** matches + mismatches + candidateErrors */
  compared: number;
  parity: number | null;
  topDifferences: DifferingPath[];
  /** most frequent candidate-error reasons */
  topErrors: Array<{ reason: string; count: number }>;
  noise: NoiseEntry[];
}

export interface ParityReport {
  /** ISO 8601 */
  generatedAt: string;
  window: { from: string; to: string };
  source: ComparisonSource | 'all';
  routes: RouteParity[];
  /** a few full mismatching comparisons per route, newest first, for side-by-side views */
  examples: ComparisonRecord[];
}
