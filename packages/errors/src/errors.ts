/**
 * Errors: every failure a user can cause or meet is a HokusaiError with a stable `code`.
 * One table (ERROR_TABLE) maps each code to an HTTP status (REST server) and a process exit code (CLI),
 * so the CLI and the server report the same failure the same way.
 */

export const ERROR_TABLE = {
  INVALID_ARGUMENT: { http: 400, exit: 2 },
  NOT_FOUND: { http: 404, exit: 3 },
  PAYLOAD_TOO_LARGE: { http: 413, exit: 4 },
  UNSUPPORTED_MEDIA_TYPE: { http: 415, exit: 4 },
  IMAGE_DECODE: { http: 422, exit: 4 },
  TOO_MANY_PIXELS: { http: 422, exit: 4 },
  CHECKPOINT_INVALID: { http: 500, exit: 5 },
  WEIGHTS_INVALID: { http: 500, exit: 5 },
  LAYER_UNKNOWN: { http: 400, exit: 2 },
  DATASET_INVALID: { http: 500, exit: 6 },
  BACKEND_UNAVAILABLE: { http: 500, exit: 7 },
  OUT_OF_MEMORY: { http: 422, exit: 8 },
  NETWORK_UNAVAILABLE: { http: 502, exit: 9 },
  CHECKSUM_MISMATCH: { http: 500, exit: 9 },
  DIVERGED: { http: 500, exit: 10 },
  IO: { http: 500, exit: 11 },
  NOT_READY: { http: 503, exit: 12 },
  QUEUE_FULL: { http: 503, exit: 12 },
  TIMEOUT: { http: 503, exit: 13 },
  RATE_LIMITED: { http: 429, exit: 12 },
  INTERRUPTED: { http: 503, exit: 130 },
  INTERNAL: { http: 500, exit: 1 },
} as const satisfies Record<string, { http: number; exit: number }>;

export type ErrorCode = keyof typeof ERROR_TABLE;

/** Base class: `code` is stable (documented, matched by clients); `message` says what was expected and what arrived. */
export class HokusaiError extends Error {
  readonly code: ErrorCode;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown; details?: Record<string, unknown> }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.details = options?.details;
  }

  get httpStatus(): number {
    return ERROR_TABLE[this.code].http;
  }

  get exitCode(): number {
    return ERROR_TABLE[this.code].exit;
  }
}

export class InvalidArgumentError extends HokusaiError {
  constructor(message: string, options?: { cause?: unknown; details?: Record<string, unknown> }) {
    super('INVALID_ARGUMENT', message, options);
  }
}

export class NotFoundError extends HokusaiError {
  constructor(message: string, options?: { cause?: unknown; details?: Record<string, unknown> }) {
    super('NOT_FOUND', message, options);
  }
}

export class CheckpointError extends HokusaiError {
  constructor(message: string, options?: { cause?: unknown; details?: Record<string, unknown> }) {
    super('CHECKPOINT_INVALID', message, options);
  }
}

export class WeightsError extends HokusaiError {
  constructor(message: string, options?: { cause?: unknown; details?: Record<string, unknown> }) {
    super('WEIGHTS_INVALID', message, options);
  }
}

export class ImageError extends HokusaiError {
  constructor(
    code: 'IMAGE_DECODE' | 'UNSUPPORTED_MEDIA_TYPE' | 'TOO_MANY_PIXELS' | 'PAYLOAD_TOO_LARGE',
    message: string,
    options?: { cause?: unknown; details?: Record<string, unknown> },
  ) {
    super(code, message, options);
  }
}

/** Exit code for any thrown value: HokusaiError by its table entry, anything else 1. */
export function exitCodeOf(error: unknown): number {
  return error instanceof HokusaiError ? error.exitCode : 1;
}

/** HTTP status for any thrown value: HokusaiError by its table entry, anything else 500. */
export function httpStatusOf(error: unknown): number {
  return error instanceof HokusaiError ? error.httpStatus : 500;
}
