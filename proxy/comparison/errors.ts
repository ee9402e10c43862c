import { StranglerError } from '../errors.ts';

/**
 * The comparison engine's failures, with stable codes. Kept here while the engine is built
 * apart from the proxy; they belong in proxy/errors.ts once the engine is wired in.
 */
export const comparisonErrors = {
  badPath: (pattern: string, detail: string) =>
    new StranglerError(
      'STRANGLER_ERR_COMPARISON_BAD_PATH',
      500,
      `"${pattern}" is not a path: ${detail}; write e.g. $.data[*].created_at, $..request_id or $['odd key']`,
    ),
  rulesInvalid: (problems: readonly string[]) =>
    new StranglerError(
      'STRANGLER_ERR_COMPARISON_RULES_INVALID',
      500,
      `comparison rules have ${problems.length} problem${problems.length === 1 ? '' : 's'}; nothing was applied:\n` +
        problems.map((p) => `  - ${p}`).join('\n'),
    ),
} as const;
