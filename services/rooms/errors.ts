/**
 * Error catalogue of the rooms service and its migrations: one stable code per failure, a
 * message that says what to do, the original error kept as `cause`.
 */
export const ERROR_CODES = {
  DATABASE_URL: 'STRANGLER_ERR_DATABASE_URL',
  LEGACY_SCHEMA_MISSING: 'STRANGLER_ERR_LEGACY_SCHEMA_MISSING',
  STORED_DATETIME: 'STRANGLER_ERR_STORED_DATETIME',
} as const;

export type RoomsErrorCode = (typeof ERROR_CODES)[keyof typeof ERROR_CODES];

export class RoomsError extends Error {
  readonly code: RoomsErrorCode;

  constructor(code: RoomsErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RoomsError';
    this.code = code;
  }
}

export function createLegacySchemaMissingError(missing: string[]): RoomsError {
  return new RoomsError(
    ERROR_CODES.LEGACY_SCHEMA_MISSING,
    `legacy table(s) ${missing.join(', ')} missing from the database: the rooms migrations ` +
      'only add indexes to the schema the legacy app owns, so start the legacy app (or load ' +
      'legacy/schema/*.sql) against the same DATABASE_URL first, then migrate again',
  );
}

export function createStoredDatetimeError(value: unknown): RoomsError {
  return new RoomsError(
    ERROR_CODES.STORED_DATETIME,
    `stored datetime ${JSON.stringify(value)} is not UTC 'YYYY-MM-DD HH:MM:SS': fix the row ` +
      'or the writer that produced it',
  );
}
