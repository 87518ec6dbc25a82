import { AsyncLocalStorage } from 'node:async_hooks';
import type { FetchLike } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { RequestId } from '@modelcontextprotocol/sdk/types.js';
import { limitErrorResponse, McpLimitError } from './mcp-limit-error.js';

/** The JSON-RPC request a transport `send` is POSTing (set around the SDK's send; read by the fetch it makes). */
const sending = new AsyncLocalStorage<RequestId>();

/** Runs `send` with `id` as the request the fetches it makes carry. */
export function sendingRequest<T>(id: RequestId | undefined, send: () => T): T {
  return id === undefined ? send() : sending.run(id, send);
}

export interface BoundedFetchOptions {
  /** One JSON body, or one SSE event of a POST response. */
  maxMessageBytes: number;
  /** One SSE event of the standalone GET stream (the server's background stream). */
  maxBackgroundEventBytes: number;
  /**
   * `true`: past its limit the GET stream is closed and every later GET is answered 405 (Streamable HTTP: the
   * SDK then stops reopening it). `false` (legacy SSE, whose GET stream carries the answers): it is ended.
   */
  backgroundIsOptional: boolean;
  /** Told once when the background stream went past its limit. */
  onBackgroundLimit(err: McpLimitError): void;
}

/**
 * A fetch for the SDK's HTTP client transports that never lets a server's answer grow without bound in memory:
 * - a JSON (or any non-SSE) body over `maxMessageBytes` fails reading it with McpLimitError (so the POST fails);
 * - an SSE event of a POST answer over `maxMessageBytes` ends that stream, and the request the POST carried gets an
 *   error response naming the limit at once (not at its timeout);
 * - an SSE event of the background GET stream over `maxBackgroundEventBytes` closes it (see `backgroundIsOptional`).
 * Bytes are counted as they arrive; nothing is buffered here.
 */
export function boundedFetch(opts: BoundedFetchOptions, base: FetchLike = fetch): FetchLike {
  let backgroundClosed = false;
  return async (url, init) => {
    const method = (init?.method ?? 'GET').toUpperCase();
    if (method === 'GET' && backgroundClosed)
      return new Response(null, { status: 405, statusText: 'background stream closed by the bridge' });
    const id = method === 'POST' ? sending.getStore() : undefined;
    const res = await base(url, init);
    if (!res.body) return res;
    const declared = Number(res.headers.get('content-length'));
    const sse = /^\s*text\/event-stream\s*(;|$)/i.test(res.headers.get('content-type') ?? '');
    const background = method === 'GET' && sse;
    const max = background ? opts.maxBackgroundEventBytes : opts.maxMessageBytes;
    let limiter: TransformStream<Uint8Array, Uint8Array>;
    if (!sse) {
      const err = new McpLimitError('max_message_bytes', max, 'an HTTP answer of the MCP server');
      const hasLength = res.headers.has('content-length') && Number.isFinite(declared);
      if (hasLength && declared > max) {
        await res.body.cancel().catch(() => undefined);
        throw err;
      }
      // A declared length within the limit bounds the body already (fetch fails a body longer than declared): the
      // common JSON answer goes through untouched.
      if (hasLength) return res;
      limiter = bodyLimiter(max, err);
    } else if (background) {
      limiter = sseLimiter(max, () => {
        // Legacy SSE's one stream is bounded like any message; Streamable HTTP's background stream has its own limit.
        const err = opts.backgroundIsOptional
          ? new McpLimitError('max_background_event_bytes', max, 'an event of the background SSE stream')
          : new McpLimitError('max_message_bytes', max, 'an event of the SSE stream');
        if (opts.backgroundIsOptional) backgroundClosed = true;
        opts.onBackgroundLimit(err);
        return undefined;
      });
    } else {
      limiter = sseLimiter(max, () => {
        if (id === undefined) return undefined;
        const err = new McpLimitError('max_message_bytes', max, 'an SSE event of the MCP server');
        return `event: message\ndata: ${JSON.stringify(limitErrorResponse(id, err))}\n\n`;
      });
    }
    const out = new Response(res.body.pipeThrough(limiter), { status: res.status, statusText: res.statusText, headers: res.headers });
    // The SDK names a redirect's target relative to the answer's URL.
    Object.defineProperty(out, 'url', { value: res.url });
    return out;
  };
}

/** Passes at most `max` bytes, then fails the body with `err`. */
function bodyLimiter(max: number, err: McpLimitError): TransformStream<Uint8Array, Uint8Array> {
  let total = 0;
  return new TransformStream({
    transform(chunk, controller) {
      total += chunk.byteLength;
      if (total > max) controller.error(err);
      else controller.enqueue(chunk);
    },
  });
}

const LF = 0x0a;
const CR = 0x0d;
const encoder = new TextEncoder();

/**
 * Passes an SSE stream while no event (the bytes between two blank lines) is over `max` bytes. On the first that is,
 * it ends the event it cut short (a blank line: the SSE parser then drops or fails just that event), appends what
 * `onLimit` returns (an error event), and ends the stream, which also cancels the body being read.
 */
function sseLimiter(max: number, onLimit: () => string | undefined): TransformStream<Uint8Array, Uint8Array> {
  let eventBytes = 0;
  let lineBytes = 0;
  let lastCR = false;
  let done = false;
  return new TransformStream({
    transform(chunk, controller) {
      if (done) return;
      // Line ends are found with indexOf (native); only the counts are kept here.
      const n = chunk.length;
      let lf = chunk.indexOf(LF);
      let cr = chunk.indexOf(CR);
      let i = 0;
      while (i < n) {
        if (lf !== -1 && lf < i) lf = chunk.indexOf(LF, i);
        if (cr !== -1 && cr < i) cr = chunk.indexOf(CR, i);
        const t = lf === -1 ? cr : cr === -1 ? lf : Math.min(lf, cr);
        const run = (t === -1 ? n : t) - i;
        if (run > 0) {
          lastCR = false;
          if (eventBytes + run > max) {
            done = true;
            controller.enqueue(chunk.subarray(0, i + (max - eventBytes)));
            controller.enqueue(encoder.encode(`\n\n${onLimit() ?? ''}`));
            controller.terminate();
            return;
          }
          eventBytes += run;
          lineBytes += run;
        }
        if (t === -1) break;
        const crlf = chunk[t] === LF && lastCR;
        lastCR = chunk[t] === CR;
        if (!crlf) {
          if (lineBytes === 0) eventBytes = 0;
          lineBytes = 0;
        }
        i = t + 1;
      }
      controller.enqueue(chunk);
    },
  });
}
