import { createParser, type EventSourceMessage } from 'eventsource-parser';
import { abortableSleep } from '@openagentio/nestjs';
import { backoffDelay } from '@openagentio/nestjs/internal/resilience/backoff.js';
import { BusError, type BusSubscription, type ChatMessage, ErrorCodes, type HandlerContext, type StreamWriter } from '@openagentio/nestjs';
import { handoffToolResult } from '@openagentio/nestjs/internal/orchestration/handoff-tool.js';
import { ChatHandoffs, takeHandoffCalls, type PendingHandoffCall } from './chat-handoffs.js';
import type { Bridge, BridgeContext, BridgeDefinition } from '../interfaces/bridge.interface.js';
import { BodyTooLargeError, readBodyText } from '../http/bounded-body.js';
import { outsideText } from '../http/outside-text.js';
import { SseLimitError, SseLineSplitter } from '../http/sse-line-splitter.js';
import {
  OPENCLAW_CHAT_SSE,
  parseOpenClawChatSseConfig,
  type ChatStreamResult,
  type OpenClawChatSseConfig,
  type OpenClawChatSseSettings,
} from './openclaw-chat-sse.config.js';
import { httpError, parseRetryAfter } from './openclaw-upstream-errors.js';
import { OPENAI_CHAT_PARAMS } from './openai-chat-params.js';

// Configuration and upstream error mapping have their own files; re-exported here, where they were first exported.
export { OPENAI_SSE_LIMITS, OPENCLAW_CHAT_SSE, type ChatStreamResult, type OpenClawChatSseConfig } from './openclaw-chat-sse.config.js';
export { httpError } from './openclaw-upstream-errors.js';

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
  readonly config: OpenClawChatSseSettings;
  /** The handoffs offered to the model (`config.handoffs`). */
  readonly handoffs: ChatHandoffs;
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
    this.config = parseOpenClawChatSseConfig(name, config);
    const raw = config as Record<string, unknown>;
    this.handoffs = new ChatHandoffs(name, raw.handoffs, raw.handoff_history);
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
    const d: Record<string, unknown> = {
      target: this.name,
      base_url: this.config.base_url,
      model: this.config.model,
      inflight: this.inflight,
      served: this.served,
    };
    if (this.handoffs.size > 0) d.handoffs = [...this.handoffs.byTool.values()].map((h) => h.target);
    return d;
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
      for (const k of OPENAI_CHAT_PARAMS) if (p[k] !== undefined) extra[k] = p[k];
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
    // The handoffs are offered beside the request's own tools.
    if (this.handoffs.size > 0) extra.tools = [...(Array.isArray(extra.tools) ? extra.tools : []), ...this.handoffs.tools()];
    return { ...extra, model, messages, stream: true, stream_options: { include_usage: true } };
  }

  private async serve(payload: unknown, hctx: HandlerContext & { writer: StreamWriter }): Promise<unknown> {
    this.inflight++;
    this.served++;
    try {
      return await this.run(payload, hctx);
    } catch (err) {
      // A bus error from a handoff (this process's reply inbox refused, say) may name a reply subject: not for callers.
      if (err instanceof BusError && err.message.includes('_INBOX.'))
        throw new BusError(err.code, outsideText(err.message), { retryable: err.retryable });
      throw err;
    } finally {
      this.inflight--;
    }
  }

  /** The upstream's answer; after a handoff tool call, the result of the agent the conversation was handed to. */
  private async run(payload: unknown, hctx: HandlerContext & { writer: StreamWriter }): Promise<unknown> {
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
      throw new BusError(
        ErrorCodes.AGENT_UNAVAILABLE,
        `"${this.name}": upstream request failed: ${this.outside((err as Error)?.message ?? err)}`,
        {
          retryable: true,
        },
      );
    };

    let response: Response | undefined;
    for (let attempt = 0; ; attempt++) {
      let retryAfterMs: number | undefined;
      let lastError: BusError;
      try {
        response = await this.fetchImpl(url, { method: 'POST', headers, body: JSON.stringify(body), signal });
      } catch (err) {
        if (signal.aborted) fail(err);
        lastError = new BusError(
          ErrorCodes.AGENT_UNAVAILABLE,
          `"${this.name}": cannot reach ${url}: ${this.outside((err as Error)?.message ?? err)}`,
          {
            retryable: true,
          },
        );
        response = undefined;
      }
      if (response) {
        if (response.ok) break;
        // Only the start of an error body is read: it is a message for a human, and a peer may send gigabytes.
        const text = await readBodyText(response, this.config.max_error_body_bytes, 'truncate').catch(() => '');
        lastError = httpError(this.name, response.status, text, this.config.token);
        const retryable = response.status === 429 || response.status >= 500;
        if (!retryable) throw lastError;
        retryAfterMs = parseRetryAfter(response.headers);
      }
      if (attempt >= this.config.max_retries) throw lastError!;
      const curve = { initial: this.config.retry_initial_ms, factor: 2, max: Infinity };
      const delay = Math.min(30_000, retryAfterMs ?? backoffDelay(attempt, curve, [0.8, 1.2]));
      this.ctx?.logger.debug?.(`"${this.name}": upstream ${response?.status ?? 'unreachable'}, retry ${attempt + 1} in ${delay} ms`);
      try {
        await abortableSleep(delay, signal);
      } catch (err) {
        fail(err);
      }
    }

    const res = response!;
    if (!res.body) throw new BusError(ErrorCodes.AGENT_UNAVAILABLE, `"${this.name}": upstream sent no body`);
    const ctype = res.headers.get('content-type') ?? '';
    if (!ctype.includes('text/event-stream')) {
      // Some servers answer a streaming request with one JSON completion; accept that shape too.
      let text: string;
      try {
        text = await readBodyText(res, this.config.max_response_bytes, 'throw');
      } catch (err) {
        if (err instanceof BodyTooLargeError) throw this.limitError('max_response_bytes', err.limit, 'a JSON answer');
        return fail(err);
      }
      return this.fromCompletion(text, payload, body, hctx.writer);
    }

    const result: ChatStreamResult = { text: '', finish_reason: null };
    const handoffCalls = new Map<number, PendingHandoffCall>();
    let done = false;
    let sawChunk = false;
    const pending: EventSourceMessage[] = [];
    const parser = createParser({ onEvent: (e) => pending.push(e) });
    // The parser is fed whole lines only, each once, within the line and event bounds (sse-line-splitter.ts).
    const lines = new SseLineSplitter({ maxLineBytes: this.config.max_line_bytes, maxEventBytes: this.config.max_event_bytes }, (line) =>
      parser.feed(`${line}\n`),
    );
    const reader = res.body.getReader();
    try {
      while (!done) {
        let chunk: { done: boolean; value?: Uint8Array };
        try {
          chunk = await reader.read();
        } catch (err) {
          fail(err);
        }
        if (chunk!.done) break;
        try {
          lines.push(chunk!.value!);
        } catch (err) {
          if (err instanceof SseLimitError) throw this.limitError(err.limit, err.bytes, 'an SSE stream');
          throw err;
        }
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
              `"${this.name}": upstream sent a chunk that is not JSON: ${this.outside(ev.data, 120)}`,
            );
          }
          if (ev.event === 'error' || json.error) {
            const e = (json.error ?? json) as { message?: string; type?: string; code?: unknown };
            throw new BusError(
              ErrorCodes.AGENT_UNAVAILABLE,
              `"${this.name}": upstream error mid-stream: ${this.outside(e.message ?? 'unknown error')}`,
              {
                retryable: true,
                cause: {
                  upstream_type: typeof e.type === 'string' ? this.outside(e.type, 100) : null,
                  upstream_code: typeof e.code === 'string' || typeof e.code === 'number' ? this.outside(String(e.code), 100) : null,
                  partial_text: result.text,
                },
              },
            );
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
          if (Array.isArray(d.tool_calls) && d.tool_calls.length > 0) {
            const others = this.handoffs.size > 0 ? takeHandoffCalls(this.handoffs, d.tool_calls, handoffCalls) : d.tool_calls;
            if (others.length > 0) await hctx.writer.data({ tool_calls: others });
          }
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
    if (handoffCalls.size > 0) return this.handOff(handoffCalls, result.text, payload, body, hctx.writer);
    return result;
  }

  /**
   * The model called a handoff tool: the conversation goes to its target, in this same stream (the caller sees a
   * handoff marker, then that agent's frames and final). The target gets the conversation, with the model's text and
   * its handoff call and the transfer result as the SDK records them (filtered by `handoff_history`), the call's
   * arguments as state and its `reason`. The first handoff call wins if the model made several.
   */
  private handOff(
    calls: Map<number, PendingHandoffCall>,
    text: string,
    payload: unknown,
    body: Record<string, unknown>,
    writer: StreamWriter,
  ): Promise<unknown> {
    const call = calls.get(Math.min(...calls.keys()))!;
    let args: Record<string, unknown> = {};
    try {
      const parsed = JSON.parse(call.arguments || '{}');
      if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) args = parsed;
    } catch {
      // a model's malformed arguments do not stop the handoff; they are just not passed on
    }
    const id = call.id ?? 'call_handoff';
    const messages: ChatMessage[] = [
      ...((body.messages as ChatMessage[]) ?? []),
      {
        role: 'assistant',
        content: text || null,
        tool_calls: [{ id, type: 'function', function: { name: call.tool, arguments: call.arguments || '{}' } }],
      },
      { role: 'tool', tool_call_id: id, content: handoffToolResult(call.target) },
    ];
    const handoff = this.ctx!.bus.handoff(call.target, {
      reason: typeof args.reason === 'string' ? args.reason : undefined,
      state: args,
      input: payload,
      messages,
      history: this.handoffs.history,
      from: this.name,
    });
    return handoff.pipeTo(writer);
  }

  /** A text from the upstream as a caller may see it: cut, and without secrets (the configured token among them). */
  private outside(text: unknown, max?: number): string {
    return outsideText(String(text), max, this.config.token ? [this.config.token] : []);
  }

  /** The upstream sent more than a bound allows: the call fails (the process never does), naming the bound. */
  private limitError(limit: string, bytes: number, what: string): BusError {
    return new BusError(ErrorCodes.CODEC_FAILURE, `"${this.name}": upstream sent ${what} past ${limit} (${bytes} bytes)`, {
      retryable: false,
      cause: { limit, limit_bytes: bytes },
    });
  }

  private async fromCompletion(text: string, payload: unknown, body: Record<string, unknown>, writer: StreamWriter): Promise<unknown> {
    let json: any;
    try {
      json = JSON.parse(text);
    } catch {
      throw new BusError(ErrorCodes.CODEC_FAILURE, `"${this.name}": upstream answered neither SSE nor JSON`);
    }
    if (json.error)
      throw new BusError(ErrorCodes.AGENT_UNAVAILABLE, `"${this.name}": upstream error: ${this.outside(json.error.message ?? 'unknown')}`);
    const choice = json.choices?.[0];
    const content = choice?.message?.content ?? '';
    await writer.started({ model: json.model, id: json.id, created: json.created });
    if (content) await writer.delta(content);
    const calls = new Map<number, PendingHandoffCall>();
    const toolCalls = choice?.message?.tool_calls;
    if (this.handoffs.size > 0 && Array.isArray(toolCalls)) {
      takeHandoffCalls(
        this.handoffs,
        toolCalls.map((t: Record<string, unknown>, index: number) => ({ index, ...t })),
        calls,
      );
      if (calls.size > 0) return this.handOff(calls, content, payload, body, writer);
    }
    return { text: content, finish_reason: choice?.finish_reason ?? null, usage: json.usage, model: json.model, id: json.id };
  }
}

/** Factory for `type: openclaw_chat_sse`. */
export const openClawChatSseBridgeFactory = (def: BridgeDefinition): OpenClawChatSseBridge => OpenClawChatSseBridge.fromDefinition(def);
