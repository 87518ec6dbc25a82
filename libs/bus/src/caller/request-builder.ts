import type { CallContext } from '../context/call-context.js';
import { BusError } from '../errors/bus-error.js';
import { ErrorCodes } from '../errors/error-codes.js';
import type { CallOptions, PublishOptions } from '../interfaces/call-options.interface.js';
import { injectTrace } from '../observability/bus-tracing.js';
import { createEnvelope } from '../protocol/envelope-factory.js';
import { EventTypes, type Envelope } from '../protocol/envelope.js';
import { ADVERTISED_EXTENSIONS, MetaKeys } from '../protocol/extensions.js';
import type { BusRuntime } from '../runtime/bus-runtime.js';
import type { CallTrace } from './call-trace.js';

/** A request envelope: session and trace from the options, else the ambient call; our extensions and deadline. */
export function buildRequest(
  rt: BusRuntime,
  target: string,
  payload: unknown,
  options: CallOptions,
  ctx: CallContext | undefined,
  replySubject: string,
  deadline: number,
  extraMeta: Record<string, unknown> | undefined,
  tracing: CallTrace | undefined,
): Envelope {
  const request = outgoingEnvelope(EventTypes.REQUEST, rt, options, ctx);
  request.to = target;
  request.reply_to = replySubject;
  if (payload !== undefined) request.payload = payload;
  const meta: Record<string, unknown> = requestMetadata(options, ctx, tracing, request) ?? {};
  if (extraMeta) Object.assign(meta, extraMeta);
  meta[MetaKeys.EXT] = ADVERTISED_EXTENSIONS;
  meta[MetaKeys.DEADLINE] = deadline;
  request.metadata = meta;
  return request;
}

/**
 * A new envelope from this bus with the session and trace fields of `options`, else of the ambient call. Each
 * field is written at its own site, in the order the generic factory's fields object gave them (the wire keeps its
 * key order): a fields object copied in a keyed loop cost a megamorphic store per field on every call and event.
 * As before, an empty or undefined value is left out; a null one (from untyped JS) is kept and marks the envelope
 * as not in wire form (see `inWireForm`).
 */
export function outgoingEnvelope(
  eventType: string,
  rt: BusRuntime,
  options: CallOptions | PublishOptions,
  ctx: CallContext | undefined,
): Envelope {
  const env = createEnvelope(eventType);
  const s = ctx?.session;
  const t = ctx?.trace;
  let v: string | undefined = rt.agentId;
  if (v !== undefined && v !== '') env.from = v;
  v = options.session_id ?? s?.session_id;
  if (v !== undefined && v !== '') env.session_id = v;
  v = options.conversation_id ?? s?.conversation_id;
  if (v !== undefined && v !== '') env.conversation_id = v;
  v = options.tenant_id ?? s?.tenant_id ?? rt.options.tenant;
  if (v !== undefined && v !== '') env.tenant_id = v;
  v = options.user_id ?? s?.user_id;
  if (v !== undefined && v !== '') env.user_id = v;
  v = options.channel ?? s?.channel;
  if (v !== undefined && v !== '') env.channel = v;
  const tp = options.traceparent;
  v = tp ?? t?.traceparent;
  if (v !== undefined && v !== '') env.traceparent = v;
  v = tp ? traceIdOf(tp) : t?.trace_id;
  if (v !== undefined && v !== '') env.trace_id = v;
  v = tp ? spanIdOf(tp) : t?.span_id;
  if (v !== undefined && v !== '') env.span_id = v;
  return env;
}

/** User metadata (no reserved `acp.*` keys) plus tracestate and baggage. */
export function requestMetadata(
  options: CallOptions | PublishOptions,
  ctx: CallContext | undefined,
  tracing?: CallTrace,
  env?: Envelope,
): Record<string, unknown> | undefined {
  let meta: Record<string, unknown> | undefined;
  if (options.metadata) {
    for (const key in options.metadata) {
      if (key.startsWith('acp.')) throw new BusError(ErrorCodes.INVALID_REQUEST, `metadata key "${key}" is reserved (acp.*)`);
      (meta ??= {})[key] = options.metadata[key];
    }
  }
  let tracestate = options.tracestate ?? ctx?.trace.tracestate;
  let baggage = options.baggage ?? ctx?.trace.baggage;
  if (tracing && env) ({ tracestate, baggage } = injectTrace(tracing.span, tracing.parent, env, { tracestate, baggage }));
  if (tracestate) (meta ??= {})[MetaKeys.TRACESTATE] = tracestate;
  if (baggage) (meta ??= {})[MetaKeys.BAGGAGE] = baggage;
  return meta;
}

function traceIdOf(traceparent: string): string | undefined {
  const parts = traceparent.split('-');
  return parts.length >= 4 ? parts[1] : undefined;
}

function spanIdOf(traceparent: string): string | undefined {
  const parts = traceparent.split('-');
  return parts.length >= 4 ? parts[2] : undefined;
}
