import { createParser, type EventSourceMessage } from 'eventsource-parser';
import {
  assertName,
  BusError,
  type BusSubscription,
  type ErrorCode,
  ErrorCodes,
  type HandlerContext,
  type StreamWriter,
} from '@openagentio/nestjs';
import type { Bridge, BridgeContext, BridgeDefinition } from '../interfaces/bridge.interface.js';
import { BridgeConfigError, ConfigReader } from '../config/bridge-config.js';

export const OPENCLAW_CHAT_SSE = 'openclaw_chat_sse';

/** `config:` of an `openclaw_chat_sse` bridge. */
export interface OpenClawChatSseConfig {
  /** Base URL of the OpenAI-compatible API, e.g. `http://localhost:11434/v1`; requests go to `{base_url}/chat/completions`. */
  base_url: string;
  /** Bearer token (`Authorization: Bearer …`). */
  token?: string;
  /** Model sent upstream unless the request names one. */
  model?: string;
  /** Upper bound of one upstream request, including the whole stream (ms). Default 120 000. */
  timeout_ms?: number;
  /** Header that carries the bus session id upstream (e.g. `X-OpenClaw-Session-Key`). Default: none. */
  session_header?: string;
  /** Retries of 429 / 5xx / connection errors before the first byte. Default 2. */
  max_retries?: number;
  /** First retry delay (ms), doubled per retry, with jitter; `Retry-After` is honoured up to 30 s. Default 250. */
  retry_initial_ms?: number;
}

/** What the final frame's `result` holds. */
export interface ChatStreamResult {
  text: string;
  finish_reason: string | null;
  usage?: Record<string, unknown>;
  model?: string;
  id?: string;
}

const PASSTHROUGH = [
  'temperature',
  'top_p',
  'max_tokens',
  'max_completion_tokens',
  'stop',
  'tools',
  'tool_choice',
  'response_format',
  'seed',
  'user',
  'presence_penalty',
  'frequency_penalty',
  'reasoning_effort',
];

/**
 * An OpenAI-compatible chat-completions endpoint as a bus stream target named after the bridge.
 *
 * Frames: `started` `{meta:{model,id,created}}` (sent with the upstream's first chunk); `delta` `{delta:"text"}` per content token,
 * `{data:{tool_calls}}` / `{data:{reasoning}}` for tool-call and reasoning deltas; `final` `{result:{text,
 * finish_reason, usage, model, id}}`. A mid-stream error chunk, an HTTP error or a stream that ends without
 * `[DONE]` is an error frame (never a truncated success). Cancelling the bus call aborts the HTTP request.
 */
export class OpenClawChatSseBridge implements Bridge {
  readonly type = OPENCLAW_CHAT_SSE;
  readonly config: Required<Omit<OpenClawChatSseConfig, 'token' | 'model' | 'session_header'>> &
    Pick<OpenClawChatSseConfig, 'token' | 'model' | 'session_header'>;
  private sub?: BusSubscription;
  private inflight = 0;
  private served = 0;
  private ctx?: BridgeContext;
  /** Injectable for tests. */
  fetchImpl: typeof fetch = (...args) => fetch(...args);

  constructor(
    readonly name: string,
    config: OpenClawChatSseConfig | Record<string, unknown>,
  ) {
    try {
      assertName(name, 'bridge name (the stream target)');
    } catch (err) {
      throw new BridgeConfigError(`bridge "${name}" (${OPENCLAW_CHAT_SSE}): name: ${(err as Error).message}`, 'name');
    }
    const r = new ConfigReader({ name, type: OPENCLAW_CHAT_SSE, config: config as Record<string, unknown> });
    const base = r.string('base_url');
    try {
      new URL(base);
    } catch {
      throw new BridgeConfigError(`bridge "${name}" (${OPENCLAW_CHAT_SSE}): config.base_url is not a URL: ${base}`, 'base_url');
    }
    this.config = {
      base_url: base.replace(/\/+$/, ''),
      token: r.optionalString('token'),
      model: r.optionalString('model'),
      session_header: r.optionalString('session_header'),
      timeout_ms: r.number('timeout_ms', 120_000),
      max_retries: r.number('max_retries', 2),
      retry_initial_ms: r.number('retry_initial_ms', 250),
    };
  }

  static fromDefinition(def: BridgeDefinition): OpenClawChatSseBridge {
    return new OpenClawChatSseBridge(def.name, def.config);
  }

  async start(ctx: BridgeContext): Promise<void> {
    this.ctx = ctx;
    this.sub = ctx.bus.handleStream(
      this.name,
      (payload: unknown, hctx: HandlerContext & { writer: StreamWriter }) => this.serve(payload, hctx),
      {
        // `started` waits for the upstream's first chunk so it can carry the model and completion id.
        deferStarted: true,
      },
    );
  }

  async stop(): Promise<void> {
    this.sub?.unsubscribe();
    this.sub = undefined;
  }

  describe(): Record<string, unknown> {
    return { target: this.name, base_url: this.config.base_url, model: this.config.model, inflight: this.inflight, served: this.served };
  }

  /** Builds the upstream request body from a bus payload (`{messages}`, a string, or `{text|input|prompt|message}`). */
  requestBody(payload: unknown): Record<string, unknown> {
    let messages: unknown[];
    const extra: Record<string, unknown> = {};
    let model = this.config.model;
    if (typeof payload === 'string') messages = [{ role: 'user', content: payload }];
    else if (payload && typeof payload === 'object' && !Array.isArray(payload)) {
      const p = payload as Record<string, unknown>;
      if (typeof p.model === 'string' && p.model) model = p.model;
      for (const k of PASSTHROUGH) if (p[k] !== undefined) extra[k] = p[k];
      if (Array.isArray(p.messages)) messages = p.messages;
      else {
        const text = [p.text, p.input, p.prompt, p.message, p.content].find((v) => typeof v === 'string');
        if (typeof text !== 'string')
          throw new BusError(ErrorCodes.INVALID_REQUEST, `"${this.name}" expects {messages:[…]}, a string, or {text|input|prompt|message}`);
        messages = [{ role: 'user', content: text }];
      }
      if (typeof p.system === 'string') messages = [{ role: 'system', content: p.system }, ...messages];
    } else {
      throw new BusError(ErrorCodes.INVALID_REQUEST, `"${this.name}" expects {messages:[…]}, a string, or {text|input|prompt|message}`);
    }
    if (!model) throw new BusError(ErrorCodes.INVALID_REQUEST, `"${this.name}": no model (set config.model or send one)`);
    return { ...extra, model, messages, stream: true, stream_options: { include_usage: true } };
  }

  private async serve(payload: unknown, hctx: HandlerContext & { writer: StreamWriter }): Promise<ChatStreamResult> {
    this.inflight++;
    this.served++;
    try {
      return await this.run(payload, hctx);
    } finally {
      this.inflight--;
    }
  }

  private async run(payload: unknown, hctx: HandlerContext & { writer: StreamWriter }): Promise<ChatStreamResult> {
    const body = this.requestBody(payload);
    const timeout = AbortSignal.timeout(this.config.timeout_ms);
    const signal = AbortSignal.any([hctx.signal, timeout]);
    const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'text/event-stream' };
    if (this.config.token) headers.authorization = `Bearer ${this.config.token}`;
    const session = hctx.session?.session_id;
    if (this.config.session_header && session) headers[this.config.session_header] = session;
    const url = `${this.config.base_url}/chat/completions`;
    const fail = (err: unknown): never => {
      if (err instanceof BusError) throw err;
      if (hctx.signal.aborted) throw hctx.signal.reason ?? err;
      if (timeout.aborted)
        throw new BusError(ErrorCodes.AGENT_TIMEOUT, `"${this.name}": upstream did not finish within ${this.config.timeout_ms} ms`);
      throw new BusError(ErrorCodes.AGENT_UNAVAILABLE, `"${this.name}": upstream request failed: ${(err as Error)?.message ?? err}`, {
        retryable: true,
      });
    };

    let response: Response | undefined;
    for (let attempt = 0; ; attempt++) {
      let retryAfterMs: number | undefined;
      let lastError: BusError;
      try {
        response = await this.fetchImpl(url, { method: 'POST', headers, body: JSON.stringify(body), signal });
      } catch (err) {
        if (signal.aborted) fail(err);
        lastError = new BusError(ErrorCodes.AGENT_UNAVAILABLE, `"${this.name}": cannot reach ${url}: ${(err as Error)?.message ?? err}`, {
          retryable: true,
        });
        response = undefined;
      }
      if (response) {
        if (response.ok) break;
        const text = await response.text().catch(() => '');
        lastError = httpError(this.name, response.status, text);
        const retryable = response.status === 429 || response.status >= 500;
        if (!retryable) throw lastError;
        retryAfterMs = parseRetryAfter(response.headers);
      }
      if (attempt >= this.config.max_retries) throw lastError!;
      const base = this.config.retry_initial_ms * Math.pow(2, attempt);
      const delay = Math.min(30_000, retryAfterMs ?? Math.round(base * (0.8 + Math.random() * 0.4)));
      this.ctx?.logger.debug?.(`"${this.name}": upstream ${response?.status ?? 'unreachable'}, retry ${attempt + 1} in ${delay} ms`);
      try {
        await sleep(delay, signal);
      } catch (err) {
        fail(err);
      }
    }

    const res = response!;
    if (!res.body) throw new BusError(ErrorCodes.AGENT_UNAVAILABLE, `"${this.name}": upstream sent no body`);
    const ctype = res.headers.get('content-type') ?? '';
    if (!ctype.includes('text/event-stream')) {
      // Some servers answer a streaming request with one JSON completion; accept that shape too.
      const text = await res.text().catch(fail);
      return this.fromCompletion(text as string, hctx.writer);
    }

    const result: ChatStreamResult = { text: '', finish_reason: null };
    let done = false;
    let sawChunk = false;
    const pending: EventSourceMessage[] = [];
    const parser = createParser({ onEvent: (e) => pending.push(e) });
    const reader = res.body.getReader();
    const decoder = new TextDecoder();
    try {
      while (!done) {
        let chunk: { done: boolean; value?: Uint8Array };
        try {
          chunk = await reader.read();
        } catch (err) {
          fail(err);
        }
        if (chunk!.done) break;
        parser.feed(decoder.decode(chunk!.value, { stream: true }));
        while (pending.length > 0 && !done) {
          const ev = pending.shift()!;
          if (ev.data === '[DONE]') {
            done = true;
            break;
          }
          let json: Record<string, any>;
          try {
            json = JSON.parse(ev.data);
          } catch {
            throw new BusError(
              ErrorCodes.CODEC_FAILURE,
              `"${this.name}": upstream sent a chunk that is not JSON: ${ev.data.slice(0, 120)}`,
            );
          }
          if (ev.event === 'error' || json.error) {
            const e = (json.error ?? json) as { message?: string; type?: string; code?: unknown };
            throw new BusError(ErrorCodes.AGENT_UNAVAILABLE, `"${this.name}": upstream error mid-stream: ${e.message ?? 'unknown error'}`, {
              retryable: true,
              cause: { upstream_type: e.type ?? null, upstream_code: (e.code as string) ?? null, partial_text: result.text },
            });
          }
          if (!sawChunk) {
            sawChunk = true;
            result.model = json.model;
            result.id = json.id;
            await hctx.writer.started({ model: json.model, id: json.id, created: json.created });
          }
          if (json.usage) result.usage = json.usage;
          const choice = Array.isArray(json.choices) ? json.choices.find((c: any) => (c?.index ?? 0) === 0) : undefined;
          if (!choice) continue;
          const d = choice.delta ?? {};
          const reasoning = d.reasoning_content ?? d.reasoning;
          if (typeof reasoning === 'string' && reasoning) await hctx.writer.data({ reasoning });
          if (Array.isArray(d.tool_calls) && d.tool_calls.length > 0) await hctx.writer.data({ tool_calls: d.tool_calls });
          if (typeof d.refusal === 'string' && d.refusal) await hctx.writer.data({ refusal: d.refusal });
          if (typeof d.content === 'string' && d.content) {
            result.text += d.content;
            await hctx.writer.delta(d.content);
          }
          if (choice.finish_reason) result.finish_reason = choice.finish_reason;
        }
      }
    } finally {
      if (!done) await reader.cancel().catch(() => undefined);
      else reader.releaseLock();
    }
    if (!done) {
      if (signal.aborted) fail(signal.reason);
      throw new BusError(ErrorCodes.AGENT_UNAVAILABLE, `"${this.name}": upstream stream ended without [DONE] (answer truncated)`, {
        retryable: true,
        cause: { reason: 'truncated', partial_text: result.text, finish_reason: result.finish_reason },
      });
    }
    return result;
  }

  private async fromCompletion(text: string, writer: StreamWriter): Promise<ChatStreamResult> {
    let json: any;
    try {
      json = JSON.parse(text);
    } catch {
      throw new BusError(ErrorCodes.CODEC_FAILURE, `"${this.name}": upstream answered neither SSE nor JSON`);
    }
    if (json.error) throw new BusError(ErrorCodes.AGENT_UNAVAILABLE, `"${this.name}": upstream error: ${json.error.message ?? 'unknown'}`);
    const choice = json.choices?.[0];
    const content = choice?.message?.content ?? '';
    await writer.started({ model: json.model, id: json.id, created: json.created });
    if (content) await writer.delta(content);
    return { text: content, finish_reason: choice?.finish_reason ?? null, usage: json.usage, model: json.model, id: json.id };
  }
}

/** Maps an upstream HTTP error to a bus error code (401/403 auth, 400/404/422 invalid, 408/504 timeout, 429 backpressure, else unavailable). */
export function httpError(name: string, status: number, body: string): BusError {
  let message = body.slice(0, 300);
  let upstream: Record<string, unknown> = {};
  try {
    const j = JSON.parse(body);
    if (j?.error) {
      message = typeof j.error === 'string' ? j.error : (j.error.message ?? message);
      upstream = { upstream_type: j.error.type ?? null, upstream_code: j.error.code ?? null };
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
  return new BusError(code, `"${name}": upstream HTTP ${status}: ${message || 'no body'}`, { cause: { http_status: status, ...upstream } });
}

function parseRetryAfter(h: Headers): number | undefined {
  const ms = h.get('retry-after-ms');
  if (ms && Number.isFinite(Number(ms))) return Math.max(0, Number(ms));
  const s = h.get('retry-after');
  if (!s) return undefined;
  if (Number.isFinite(Number(s))) return Math.max(0, Number(s) * 1000);
  const at = Date.parse(s);
  return Number.isFinite(at) ? Math.max(0, at - Date.now()) : undefined;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const t = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** Factory for `type: openclaw_chat_sse`. */
export const openClawChatSseBridgeFactory = (def: BridgeDefinition): OpenClawChatSseBridge => OpenClawChatSseBridge.fromDefinition(def);
