/**
 * The one error envelope of the REST API, `{ "error": { "code", "message" } }`, with the HTTP status from
 * ERROR_TABLE (HokusaiError codes), `Retry-After` on 503/429, and no internal details for unexpected errors.
 */
import type { Response } from 'express';
import { ERROR_TABLE, HokusaiError, type ErrorCode } from '@hokusai/errors';

export function toHokusaiError(error: unknown): HokusaiError {
  if (error instanceof HokusaiError) return error;
  return new HokusaiError('INTERNAL', 'Internal server error', { cause: error });
}

export function sendError(res: Response, error: unknown, retryAfterSeconds = 1): void {
  const e = toHokusaiError(error);
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const status = ERROR_TABLE[e.code].http;
  if (status === 503 || status === 429) res.setHeader('Retry-After', String(retryAfterSeconds));
  res.status(status).json({ error: { code: e.code, message: e.message } });
}

export function error(code: ErrorCode, message: string): HokusaiError {
  return new HokusaiError(code, message);
}
