// The one error type. Every failure a user can cause becomes an AppError with a code from this closed set;
// the HTTP edge and the CLI each turn the code into a status or exit code in exactly one place.

export const ERROR_CODES = [
  'bad_request',
  'validation_failed',
  'unauthenticated',
  'forbidden',
  'not_found',
  'conflict',
  'payload_too_large',
  'unsupported_media_type',
  'rate_limited',
  'unavailable',
  'config_invalid',
  'internal',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

export class AppError extends Error {
  readonly code: ErrorCode;
  readonly details: unknown;

  constructor(code: ErrorCode, message: string, details?: unknown, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'AppError';
    this.code = code;
    this.details = details;
  }
}

export function isAppError(error: unknown): error is AppError {
  return error instanceof AppError;
}

export function httpStatusFor(code: ErrorCode): number {
  switch (code) {
    case 'bad_request':
    case 'validation_failed':
      return 400;
    case 'unauthenticated':
      return 401;
    case 'forbidden':
      return 403;
    case 'not_found':
      return 404;
    case 'conflict':
      return 409;
    case 'payload_too_large':
      return 413;
    case 'unsupported_media_type':
      return 415;
    case 'rate_limited':
      return 429;
    case 'unavailable':
      return 503;
    case 'config_invalid':
    case 'internal':
      return 500;
  }
}

/** Exit codes scripts can rely on (documented in the README). */
export function exitCodeFor(code: ErrorCode): number {
  switch (code) {
    case 'bad_request':
    case 'validation_failed':
    case 'payload_too_large':
    case 'unsupported_media_type':
      return 2;
    case 'config_invalid':
      return 3;
    case 'unauthenticated':
    case 'forbidden':
      return 4;
    case 'not_found':
      return 5;
    case 'conflict':
      return 6;
    case 'unavailable':
    case 'rate_limited':
      return 7;
    case 'internal':
      return 1;
  }
}
