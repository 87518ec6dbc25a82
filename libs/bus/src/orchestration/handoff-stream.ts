import { resultOf } from '../caller/result-of.js';
import { currentCallContext, type CallContext } from '../context/call-context.js';
import type { StreamWriter } from '../interfaces/stream-writer.interface.js';
import { EventTypes } from '../protocol/envelope.js';
import { messagesOf } from './chat-message.js';
import { HANDOFF_EVENT_TYPE, type HandoffEventPayload } from './handoff-event.js';
import { DEFAULT_MAX_HANDOFF_DEPTH, nextHop } from './handoff-guard.js';
import { applyHistory } from './handoff-history.js';
import { HANDOFF_KEY, handoffOf, type HandoffInfo } from './handoff-info.js';
import { handoffMarkerPayload } from './handoff-marker.js';
import type { HandoffOptions } from './handoff-options.js';
import type { OrchestrationHost } from './orchestration-host.js';

/**
 * A handoff in progress: what the handler handing over relays to its own caller. Iterating it yields the delta
 * payloads to send (the handoff marker first, then every delta of the next agent) and returns the next agent's final
 * result, so in an async generator handler `return yield* bus.handoff(…)` makes the caller's one stream: this
 * agent's frames, the marker, the next agent's frames and its final. A writer handler uses `pipeTo(writer)`, an
 * invoke handler `result()`.
 *
 * The next agent is called from inside the handler, so it inherits the session, the trace, what is left of the
 * deadline and the cancellation; a caller that cancels cancels both. Nothing happens until it is read.
 */
export class HandoffStream<R = unknown> implements AsyncIterable<unknown> {
  private readonly ctx: CallContext | undefined;
  private info?: HandoffInfo;

  constructor(
    private readonly host: OrchestrationHost,
    readonly target: string,
    private readonly options: HandoffOptions = {},
  ) {
    this.ctx = currentCallContext();
  }

  /** What the next agent was told (once the handoff has started). */
  get handoff(): HandoffInfo | undefined {
    return this.info;
  }

  [Symbol.asyncIterator](): AsyncGenerator<unknown, R, undefined> {
    return this.run();
  }

  /** Runs the handoff to its end, dropping the frames, and resolves with the next agent's result. */
  async result(): Promise<R> {
    const it = this.run();
    for (;;) {
      const r = await it.next();
      if (r.done) return r.value;
    }
  }

  /** Writes the marker and the next agent's deltas through a stream handler's writer; resolves with its result. */
  async pipeTo(writer: StreamWriter): Promise<R> {
    const it = this.run();
    try {
      for (let r = await it.next(); ; r = await it.next()) {
        if (r.done) return r.value;
        await writer.delta(r.value);
      }
    } catch (err) {
      await it.return(undefined as R).catch(() => undefined);
      throw err;
    }
  }

  private async *run(): AsyncGenerator<unknown, R, undefined> {
    const o = this.options;
    const ctx = this.ctx;
    const from = o.from ?? ctx?.target ?? this.host.agentId;
    const inbound = handoffOf(ctx?.envelope.payload);
    const hop = nextHop(inbound, from, this.target, o.maxDepth ?? DEFAULT_MAX_HANDOFF_DEPTH, o.allowRevisit === true);
    const input = 'input' in o ? o.input : ctx?.envelope.payload;
    const session = { ...ctx?.session, ...sessionOptions(o) };
    const { messages, history } = await applyHistory(o.history ?? 'all', o.messages ?? messagesOf(input), session);
    const info: HandoffInfo = { from, to: this.target, depth: hop.depth, chain: hop.chain, history };
    if (o.reason !== undefined) info.reason = o.reason;
    if (o.state !== undefined) info.state = o.state;
    this.info = info;
    const callOptions = callOptionsOf(o);
    yield handoffMarkerPayload(info);
    if (o.remember !== false) {
      const event: HandoffEventPayload = { from, to: this.target, depth: hop.depth, chain: hop.chain };
      if (o.reason !== undefined) event.reason = o.reason;
      // Routing the next turn is a convenience: a handoff whose event cannot be published still goes ahead.
      await this.host.publish(HANDOFF_EVENT_TYPE, event, sessionOptions(o)).catch(() => undefined);
    }
    const payload = nextPayload(input, messages, info);
    if (o.kind === 'invoke') return await this.host.invoke<R>(this.target, payload, callOptions);
    const call = this.host.stream(this.target, payload, { ...callOptions, yieldErrors: false });
    // Leaving this loop early (the caller cancelled, the relaying handler stopped) cancels the next agent's call.
    for await (const frame of call) {
      if (frame.event_type === EventTypes.DELTA) yield frame.payload ?? { data: null };
    }
    return (call.final ? resultOf(call.final) : undefined) as R;
  }
}

/** The next agent's payload: the input (an object, else `{input}`) with the conversation and the handoff information. */
function nextPayload(input: unknown, messages: unknown[] | undefined, info: HandoffInfo): Record<string, unknown> {
  const base: Record<string, unknown> =
    input && typeof input === 'object' && !Array.isArray(input)
      ? { ...(input as Record<string, unknown>) }
      : input === undefined
        ? {}
        : { input };
  delete base.messages;
  if (messages) base.messages = messages;
  base[HANDOFF_KEY] = info;
  return base;
}

function sessionOptions(o: HandoffOptions) {
  const s: Record<string, string> = {};
  for (const k of ['session_id', 'conversation_id', 'tenant_id', 'user_id', 'channel'] as const) if (o[k] !== undefined) s[k] = o[k]!;
  return s;
}

function callOptionsOf(o: HandoffOptions) {
  // eslint-disable-next-line @typescript-eslint/no-unused-vars
  const { reason, state, input, messages, history, kind, maxDepth, allowRevisit, remember, from, ...call } = o;
  return call;
}
