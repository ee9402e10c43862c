/** A response as the comparison engine sees it: already read, possibly cut at a size cap. */
export interface CapturedResponse {
  status: number;
  /** as node gives them (lower-case names); other casings are found too, at a small cost */
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  /** the body was cut at a size cap: only its first body.length bytes are known */
  truncated?: boolean;
  /** body was decoded from this Content-Encoding (decode-body.ts); headers are as received */
  decodedFrom?: string;
  /** the body could not be decoded from its Content-Encoding, and why; body is as received */
  undecodable?: string;
}

export type ComparisonOutcome = 'match' | 'mismatch' | 'candidate-error' | 'skipped';

export type DifferenceKind = 'status' | 'header' | 'changed' | 'missing' | 'added' | 'type' | 'body';

/**
 * One way the candidate answered differently. path is `status`, `headers.<name>`, a concrete
 * JSON path such as `$.data[3].owner.name`, or `body` for non-JSON bodies.
 * Values longer than PREVIEW_CHARS are replaced by a string preview ending in "…".
 */
export interface Difference {
  path: string;
  kind: DifferenceKind;
  /** absent when kind is `added` */
  primary?: unknown;
  /** absent when kind is `missing` */
  candidate?: unknown;
}

export interface ComparisonResult {
  outcome: ComparisonOutcome;
  differences: Difference[];
  /** concrete paths that differed but are known noise (ignore rules or learned noise) */
  noise: string[];
  /** why the outcome is skipped or candidate-error, or what was left uncompared */
  reason?: string;
  /** differences and noise paths beyond the per-comparison cap, counted but not listed */
  omitted?: { differences: number; noise: number };
}
