import { BusError, type ErrorCode, ErrorCodes } from '@openagentio/nestjs';
import { outsideText } from '../http/outside-text.js';

/** Maps an upstream HTTP error to a bus error code (401/403 auth, 400/404/422 invalid, 408/504 timeout, 429 backpressure, else unavailable). */
export function httpError(name: string, status: number, body: string, token?: string): BusError {
  let message = body;
  let upstream: Record<string, unknown> = {};
  try {
    const j = JSON.parse(body);
    if (j?.error) {
      message = typeof j.error === 'string' ? j.error : typeof j.error.message === 'string' ? j.error.message : message;
      upstream = {
        upstream_type: typeof j.error.type === 'string' ? outsideText(j.error.type, 100) : null,
        upstream_code: typeof j.error.code === 'string' || typeof j.error.code === 'number' ? outsideText(String(j.error.code), 100) : null,
      };
    }
  } catch {
    // not JSON
  }
  const code: ErrorCode =
    status === 401 || status === 403
      ? ErrorCodes.AUTH_FAILURE
      : status === 408 || status === 504
        ? ErrorCodes.AGENT_TIMEOUT
        : status === 429
          ? ErrorCodes.BACKPRESSURE_DROP
          : status === 400 || status === 404 || status === 413 || status === 422
            ? ErrorCodes.INVALID_REQUEST
            : ErrorCodes.AGENT_UNAVAILABLE;
  const shown = message ? outsideText(message, undefined, token ? [token] : []) : 'no body';
  return new BusError(code, `"${name}": upstream HTTP ${status}: ${shown}`, { cause: { http_status: status, ...upstream } });
}

/** The upstream's wish for the next try (`retry-after-ms`, or `retry-after` in seconds or as a date), in ms. */
export function parseRetryAfter(h: Headers): number | undefined {
  const ms = h.get('retry-after-ms');
  if (ms && Number.isFinite(Number(ms))) return Math.max(0, Number(ms));
  const s = h.get('retry-after');
  if (!s) return undefined;
  if (Number.isFinite(Number(s))) return Math.max(0, Number(s) * 1000);
  const at = Date.parse(s);
  return Number.isFinite(at) ? Math.max(0, at - Date.now()) : undefined;
}
