/**
 * The Matrix Client-Server API calls the bridge makes, over fetch. The bridge needs a dozen endpoints with exact
 * control over three things the SDK clients decide for themselves: the sync cursor (committed only after a batch
 * is published), transaction ids (derived from the envelope, so a retried send is one message) and 429 handling
 * (per room, after `retry_after_ms`). So it speaks the API itself; the tests drive it with matrix-js-sdk.
 */
import { BodyTooLargeError, readBodyText } from '../http/bounded-body.js';
import { outsideText } from '../http/outside-text.js';

/** Bytes of a homeserver's answer read by default; a sync has its own bound (`max_sync_bytes`). */
export const MAX_ANSWER_BYTES = 1_048_576;
/** Bytes of an error answer read for its message. */
const MAX_ERROR_BYTES = 65_536;
/** Characters of a homeserver's error text kept in a message. */
const MAX_ERROR_TEXT = 200;

import { codeOfHttpStatus } from '@openagentio/nestjs/internal/errors/to-bus-error.js';
import { BridgeError } from '../errors/bridge-error.js';

/** A Matrix error answer (`{errcode, error}`), or a transport failure (`status` 0). */
export class MatrixRequestError extends BridgeError {
  constructor(
    message: string,
    readonly status: number,
    readonly errcode?: string,
    readonly retryAfterMs?: number,
    /** The answer was not what the API answers: not JSON (HTML from a proxy, cut short), too large, not a sync. */
    readonly invalidAnswer: false | 'not_json' | 'too_large' | 'not_sync' = false,
  ) {
    super(codeOfHttpStatus(status), message);
    this.name = 'MatrixRequestError';
  }

  /** The access token is not (or no longer) valid: retrying cannot help. */
  get isAuthFailure(): boolean {
    return this.status === 401 || this.errcode === 'M_UNKNOWN_TOKEN' || this.errcode === 'M_MISSING_TOKEN';
  }

  /** Worth trying again later: the network, the server, a timeout, a rate limit. */
  get isTransient(): boolean {
    // A proxy in between answers HTML, cuts bodies or times out: the homeserver may answer properly the next time.
    return this.invalidAnswer !== false || this.status === 0 || this.status === 429 || this.status >= 500 || this.status === 408;
  }
}

export interface MatrixHttpOptions {
  homeserverUrl: string;
  accessToken: string;
  /** Per request, beyond a sync's own long-poll timeout (ms). */
  requestTimeoutMs: number;
}

/** One authenticated client of a homeserver. */
export class MatrixHttp {
  private readonly base: string;

  constructor(private readonly options: MatrixHttpOptions) {
    this.base = options.homeserverUrl.replace(/\/+$/, '');
  }

  /** Calls `/_matrix/client/v3/<path>`; answers the parsed JSON body, or throws MatrixRequestError. */
  async request<T = Record<string, unknown>>(
    method: 'GET' | 'POST' | 'PUT',
    path: string,
    body?: unknown,
    opts: { query?: Record<string, string | number | undefined>; timeoutMs?: number; signal?: AbortSignal; maxBytes?: number } = {},
  ): Promise<T> {
    let url = `${this.base}/_matrix/client/v3/${path}`;
    if (opts.query) {
      const q = new URLSearchParams();
      for (const [k, v] of Object.entries(opts.query)) if (v !== undefined) q.set(k, String(v));
      const s = q.toString();
      if (s) url += `?${s}`;
    }
    const timeout = AbortSignal.timeout(opts.timeoutMs ?? this.options.requestTimeoutMs);
    const signal = opts.signal ? AbortSignal.any([opts.signal, timeout]) : timeout;
    let res: Response;
    try {
      res = await fetch(url, {
        method,
        headers: {
          authorization: `Bearer ${this.options.accessToken}`,
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        },
        body: body !== undefined ? JSON.stringify(body) : undefined,
        signal,
      });
    } catch (err) {
      if (opts.signal?.aborted) throw opts.signal.reason;
      const why = timeout.aborted ? 'timed out' : ((err as Error).cause as Error)?.message || (err as Error).message;
      throw new MatrixRequestError(`${method} ${path.split('?')[0]}: ${why}`, 0);
    }
    const route = `${method} ${routeOf(path)}`;
    const limit = res.ok ? (opts.maxBytes ?? MAX_ANSWER_BYTES) : MAX_ERROR_BYTES;
    let text: string;
    try {
      text = await readBodyText(res, limit, res.ok ? 'throw' : 'truncate');
    } catch (err) {
      if (opts.signal?.aborted) throw opts.signal.reason;
      if (err instanceof BodyTooLargeError)
        throw new MatrixRequestError(`${route}: the answer is larger than ${limit} bytes`, res.status, undefined, undefined, 'too_large');
      const why = timeout.aborted ? 'timed out' : ((err as Error).cause as Error)?.message || (err as Error).message;
      throw new MatrixRequestError(`${route}: reading the answer failed: ${outsideText(why, MAX_ERROR_TEXT)}`, 0);
    }
    let json: Record<string, unknown> | undefined;
    try {
      const parsed: unknown = text ? JSON.parse(text) : {};
      json = parsed && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : undefined;
    } catch {
      json = undefined;
    }
    if (!res.ok) {
      const errcode = typeof json?.errcode === 'string' ? outsideText(json.errcode, 64) : undefined;
      const error = outsideText(typeof json?.error === 'string' ? json.error : text, MAX_ERROR_TEXT);
      const retryAfter =
        typeof json?.retry_after_ms === 'number'
          ? json.retry_after_ms
          : Number(res.headers.get('retry-after')) > 0
            ? Number(res.headers.get('retry-after')) * 1000
            : undefined;
      throw new MatrixRequestError(`${route}: HTTP ${res.status} ${errcode ?? ''} ${error}`.trim(), res.status, errcode, retryAfter);
    }
    if (json === undefined) {
      const type = outsideText(res.headers.get('content-type') ?? 'none', 64);
      throw new MatrixRequestError(
        `${route}: the answer is not a JSON object (content-type ${type})`,
        res.status,
        undefined,
        undefined,
        'not_json',
      );
    }
    return json as T;
  }
}

/** A path without its ids, for messages (room ids and transaction ids say nothing useful in a log line). */
function routeOf(path: string): string {
  return path
    .split('?')[0]
    .split('/')
    .map((seg) => (/[!@$%:]/.test(decodeURIComponent(seg)) || seg.length > 24 ? '…' : seg))
    .join('/');
}

/** A path segment: room ids, event ids and transaction ids are escaped whole. */
export function seg(value: string): string {
  return encodeURIComponent(value);
}
