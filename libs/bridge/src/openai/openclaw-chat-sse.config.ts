import { assertName } from '@openagentio/nestjs';
import { BridgeConfigError, ConfigReader } from '../config/bridge-config.js';
import type { ChatHandoffHistory, ChatHandoffTarget } from './chat-handoffs.js';

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
  /**
   * Agents the model may hand the conversation to (bus targets, or `{target, tool, description}`). Each is offered to
   * the model as a tool `transfer_to_<target>`, as the OpenAI Agents SDK offers handoffs; a model that calls one ends
   * this stream in a handoff to that target (docs/orchestration.md). Only these targets: a model cannot pick others.
   */
  handoffs?: Array<string | ChatHandoffTarget>;
  /** What of the conversation the agent handed to gets: `remove_tools` (default), `all`, `nested` or `none`. */
  handoff_history?: ChatHandoffHistory;
  /** Bytes of one SSE line; a longer line fails the call (CODEC_FAILURE, cause.limit). Default 1 MiB. */
  max_line_bytes?: number;
  /** Bytes of one SSE event (its lines up to the blank line ending it); more fails the call. Default 4 MiB. */
  max_event_bytes?: number;
  /** Bytes of an HTTP error answer read for its message; the rest is not read. Default 64 KiB. */
  max_error_body_bytes?: number;
  /** Bytes of a non-streaming (JSON) answer; a larger one fails the call. Default 8 MiB. */
  max_response_bytes?: number;
}

/** Default bounds of what the upstream may send (docs/bridges.md). */
export const OPENAI_SSE_LIMITS = {
  max_line_bytes: 1_048_576,
  max_event_bytes: 4_194_304,
  max_error_body_bytes: 65_536,
  max_response_bytes: 8_388_608,
} as const;

/** What the final frame's `result` holds. */
export interface ChatStreamResult {
  text: string;
  finish_reason: string | null;
  usage?: Record<string, unknown>;
  model?: string;
  id?: string;
}

/** An `openclaw_chat_sse` bridge's configuration with its defaults applied (handoffs are read by ChatHandoffs). */
export type OpenClawChatSseSettings = Required<
  Omit<OpenClawChatSseConfig, 'token' | 'model' | 'session_header' | 'handoffs' | 'handoff_history'>
> &
  Pick<OpenClawChatSseConfig, 'token' | 'model' | 'session_header'>;

/** Checks the bridge name (it is the stream target) and reads `config:` with its defaults. */
export function parseOpenClawChatSseConfig(name: string, config: OpenClawChatSseConfig | Record<string, unknown>): OpenClawChatSseSettings {
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
  return {
    base_url: base.replace(/\/+$/, ''),
    token: r.optionalString('token'),
    model: r.optionalString('model'),
    session_header: r.optionalString('session_header'),
    timeout_ms: r.number('timeout_ms', 120_000),
    max_retries: r.number('max_retries', 2),
    retry_initial_ms: r.number('retry_initial_ms', 250),
    max_line_bytes: r.number('max_line_bytes', OPENAI_SSE_LIMITS.max_line_bytes),
    max_event_bytes: r.number('max_event_bytes', OPENAI_SSE_LIMITS.max_event_bytes),
    max_error_body_bytes: r.number('max_error_body_bytes', OPENAI_SSE_LIMITS.max_error_body_bytes),
    max_response_bytes: r.number('max_response_bytes', OPENAI_SSE_LIMITS.max_response_bytes),
  };
}
