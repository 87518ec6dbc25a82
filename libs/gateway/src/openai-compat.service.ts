import { Injectable } from '@nestjs/common';
import type { ServerResponse } from 'node:http';
import { randomBytes } from 'node:crypto';
import { BusError, type Envelope, ErrorCodes, EventTypes } from '@openagentio/nestjs';
import { resultOf } from '@openagentio/nestjs/internal/caller/result-of.js';
import { toBusError } from '@openagentio/nestjs/internal/errors/to-bus-error.js';
import { OPENAI_CHAT_PARAMS as SAMPLING } from '@openagentio/nestjs-bridges/internal/openai/openai-chat-params.js';
import type { GatewayRequest } from './gateway-auth.js';
import { GatewayHttpError, openAiErrorBody, toGatewayError } from './gateway-errors.js';
import { GatewayService } from './gateway.service.js';
import { onClientGone } from './sse.js';

/** A bad request in OpenAI's shape (param/code), e.g. an unknown model. */
class OpenAiRequestError extends GatewayHttpError {
  constructor(
    message: string,
    status: number,
    readonly param: string | null,
    readonly oaCode: string,
  ) {
    super(status === 404 ? ErrorCodes.NO_HANDLER : ErrorCodes.INVALID_REQUEST, message, status);
  }
}

/** Text of the last user message (string content, or the text parts of array content). */
export function lastUserText(messages: unknown): string | undefined {
  if (!Array.isArray(messages)) return undefined;
  for (let i = messages.length - 1; i >= 0; i--) {
    const m = messages[i] as { role?: string; content?: unknown };
    if (m?.role !== 'user') continue;
    if (typeof m.content === 'string') return m.content;
    if (Array.isArray(m.content)) {
      return m.content
        .filter((p: { type?: string; text?: unknown }) => p?.type === 'text' && typeof p.text === 'string')
        .map((p: { text: string }) => p.text)
        .join('');
    }
  }
  return undefined;
}

/**
 * Serves exposed bus stream targets as an OpenAI-compatible API: POST /v1/chat/completions (streaming and
 * not) and GET /v1/models. Deltas `{delta}` become content chunks, `{data:{tool_calls}}` tool-call chunks,
 * `{data:{reasoning}}` `reasoning_content`; the final frame gives finish_reason/usage. An error after the
 * first chunk is an explicit `{"error":…}` chunk without `[DONE]`, never a fake `stop`.
 */
@Injectable()
export class OpenAiCompatService {
  constructor(private readonly gateway: GatewayService) {}

  /** model → target */
  models(): Map<string, string> {
    const m = this.gateway.options.openai?.models;
    if (!m) return new Map();
    return Array.isArray(m) ? new Map(m.map((t) => [t, t])) : new Map(Object.entries(m));
  }

  listModels(res: ServerResponse): void {
    const ownedBy = this.gateway.options.openai?.ownedBy ?? 'openagentio';
    const data = [...this.models().keys()].map((id) => ({ id, object: 'model', created: 0, owned_by: ownedBy }));
    this.json(res, 200, { object: 'list', data });
  }

  sendError(res: ServerResponse, err: unknown): void {
    if (res.headersSent) {
      res.end();
      return;
    }
    if (err instanceof OpenAiRequestError) {
      this.json(res, err.status, { error: { message: err.message, type: 'invalid_request_error', param: err.param, code: err.oaCode } });
      return;
    }
    const { status, payload } = toGatewayError(err);
    this.json(res, status, openAiErrorBody(status, payload));
  }

  async chatCompletions(req: GatewayRequest, res: ServerResponse): Promise<void> {
    const body = (await this.gateway.readBody(req)) as Record<string, any> | undefined;
    if (!body || typeof body !== 'object' || Array.isArray(body))
      throw new OpenAiRequestError('request body must be a JSON object', 400, null, 'invalid_request_body');
    if (typeof body.model !== 'string' || !body.model)
      throw new OpenAiRequestError('you must provide a model parameter', 400, 'model', 'missing_model');
    if (!Array.isArray(body.messages)) throw new OpenAiRequestError("'messages' is a required property", 400, 'messages', 'invalid_value');
    const modelTarget = this.models().get(body.model);
    if (!modelTarget)
      throw new OpenAiRequestError(
        `The model '${body.model}' does not exist or you do not have access to it.`,
        404,
        'model',
        'model_not_found',
      );
    // A session handed to another agent continues there (followHandoffs), if that agent is served as a model or stream.
    const target = await this.gateway.targetFor(req, modelTarget, 'chat', [
      ...this.models().values(),
      ...this.gateway.options.streamTargets,
    ]);
    const custom = this.gateway.options.openai?.toPayload;
    let payload: unknown;
    if (custom) payload = custom(body, target);
    else {
      // `model` chose the bus target; it is not passed on, so a bridge behind the target (an upstream model server)
      // uses its own configured model instead of the gateway's alias.
      const p: Record<string, unknown> = { messages: body.messages };
      const text = lastUserText(body.messages);
      if (text !== undefined) p.text = text;
      for (const k of SAMPLING) if (body[k] !== undefined) p[k] = body[k];
      payload = p;
    }
    const ac = new AbortController();
    onClientGone(res, () =>
      ac.abort(
        new BusError(ErrorCodes.AGENT_UNAVAILABLE, 'HTTP client disconnected', { retryable: false, cause: { reason: 'cancelled' } }),
      ),
    );
    const call = this.gateway.bus.stream(target, payload, {
      ...this.gateway.callOptions(req),
      timeout: this.gateway.options.streamTimeout,
      maxBufferedBytes: this.gateway.options.streamUnreadBytes,
      signal: ac.signal,
      yieldErrors: true,
    });
    const id = `chatcmpl-${randomBytes(12).toString('hex')}`;
    const created = Math.floor(Date.now() / 1000);
    const model = body.model as string;
    if (body.stream) await this.streamOut(res, call, id, created, model, !!body.stream_options?.include_usage, ac.signal);
    else await this.collect(res, call, id, created, model);
  }

  private async streamOut(
    res: ServerResponse,
    call: AsyncIterable<Envelope>,
    id: string,
    created: number,
    model: string,
    includeUsage: boolean,
    signal: AbortSignal,
  ): Promise<void> {
    const ch = this.gateway.openSse(res);
    let started = false;
    let text = '';
    const chunk = (delta: Record<string, unknown>, finish: string | null = null) => ({
      id,
      object: 'chat.completion.chunk',
      created,
      model,
      choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
      ...(includeUsage ? { usage: null } : {}),
    });
    const begin = () => {
      if (started) return;
      started = true;
      ch.open();
      ch.data(JSON.stringify(chunk({ role: 'assistant', content: '' })));
    };
    try {
      for await (const frame of call) {
        if (frame.event_type === EventTypes.ERROR) throw BusError.fromPayload(frame.payload, frame);
        if (frame.event_type === EventTypes.DELTA) {
          const p = (frame.payload ?? {}) as { delta?: unknown; data?: any };
          if (typeof p.delta === 'string' && p.delta) {
            begin();
            text += p.delta;
            ch.data(JSON.stringify(chunk({ content: p.delta })));
            // A client that does not read holds the loop, and so the bus credit and the agent.
            if (ch.congested) await ch.drained();
          } else if (p.data?.tool_calls) {
            begin();
            ch.data(JSON.stringify(chunk({ tool_calls: p.data.tool_calls })));
          } else if (typeof p.data?.reasoning === 'string') {
            begin();
            ch.data(JSON.stringify(chunk({ reasoning_content: p.data.reasoning })));
          }
        } else if (frame.event_type === EventTypes.FINAL) {
          begin();
          const r = resultOf(frame) as any;
          const finalText = typeof r === 'string' ? r : typeof r?.text === 'string' ? r.text : undefined;
          if (!text && finalText) ch.data(JSON.stringify(chunk({ content: finalText })));
          ch.data(JSON.stringify(chunk({}, typeof r?.finish_reason === 'string' ? r.finish_reason : 'stop')));
          if (includeUsage) {
            ch.data(JSON.stringify({ id, object: 'chat.completion.chunk', created, model, choices: [], usage: usageOf(r) }));
          }
          ch.data('[DONE]');
          ch.end();
          return;
        }
      }
      if (signal.aborted) return;
      throw new BusError(ErrorCodes.AGENT_UNAVAILABLE, 'stream ended without a final frame');
    } catch (err) {
      if (signal.aborted || ch.closed) return;
      if (!started) {
        this.sendError(res, err);
        return;
      }
      const b = toBusError(err);
      ch.data(JSON.stringify(openAiErrorBody(b.status, b.toPayload())));
      ch.end();
    }
  }

  private async collect(res: ServerResponse, call: AsyncIterable<Envelope>, id: string, created: number, model: string): Promise<void> {
    let text = '';
    const toolCalls: any[] = [];
    for await (const frame of call) {
      if (frame.event_type === EventTypes.ERROR) throw BusError.fromPayload(frame.payload, frame);
      if (frame.event_type === EventTypes.DELTA) {
        const p = (frame.payload ?? {}) as { delta?: unknown; data?: any };
        if (typeof p.delta === 'string') text += p.delta;
        if (Array.isArray(p.data?.tool_calls)) mergeToolCalls(toolCalls, p.data.tool_calls);
      } else if (frame.event_type === EventTypes.FINAL) {
        const r = resultOf(frame) as any;
        const finalText = typeof r === 'string' ? r : typeof r?.text === 'string' ? r.text : undefined;
        if (!text && finalText) text = finalText;
        const message: Record<string, unknown> = { role: 'assistant', content: text, refusal: null };
        if (toolCalls.length > 0) message.tool_calls = toolCalls;
        this.json(res, 200, {
          id,
          object: 'chat.completion',
          created,
          model,
          choices: [
            {
              index: 0,
              message,
              logprobs: null,
              finish_reason: typeof r?.finish_reason === 'string' ? r.finish_reason : toolCalls.length ? 'tool_calls' : 'stop',
            },
          ],
          usage: usageOf(r),
        });
        return;
      }
    }
    if (res.destroyed) return;
    throw new BusError(ErrorCodes.AGENT_UNAVAILABLE, 'stream ended without a final frame');
  }

  private json(res: ServerResponse, status: number, body: unknown): void {
    if (res.headersSent || res.destroyed) return;
    res.statusCode = status;
    res.setHeader('content-type', 'application/json; charset=utf-8');
    res.end(JSON.stringify(body));
  }
}

function usageOf(r: any): Record<string, number> {
  const u = r && typeof r === 'object' ? r.usage : undefined;
  if (u && typeof u === 'object') return u;
  return { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 };
}

function mergeToolCalls(acc: any[], deltas: any[]): void {
  for (const d of deltas) {
    const i = typeof d.index === 'number' ? d.index : acc.length;
    const cur = (acc[i] ??= { id: d.id, type: d.type ?? 'function', function: { name: '', arguments: '' } });
    if (d.id) cur.id = d.id;
    if (d.function?.name) cur.function.name += d.function.name;
    if (d.function?.arguments) cur.function.arguments += d.function.arguments;
  }
}
