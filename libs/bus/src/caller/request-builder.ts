import type { CallContext } from '../context/call-context.js';
import { BusError } from '../errors/bus-error.js';
import { ErrorCodes } from '../errors/error-codes.js';
import type { CallOptions, PublishOptions } from '../interfaces/call-options.interface.js';
import { injectTrace } from '../observability/bus-tracing.js';
import { createRequest, type EnvelopeFields } from '../protocol/envelope-factory.js';
import type { Envelope } from '../protocol/envelope.js';
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
  const fields = envelopeFields(rt, options, ctx);
  fields.to = target;
  fields.reply_to = replySubject;
  const request = createRequest(payload, fields);
  const meta: Record<string, unknown> = requestMetadata(options, ctx, tracing, request) ?? {};
  if (extraMeta) Object.assign(meta, extraMeta);
  meta[MetaKeys.EXT] = ADVERTISED_EXTENSIONS;
  meta[MetaKeys.DEADLINE] = deadline;
  request.metadata = meta;
  return request;
}

/** The session and trace fields of an outgoing envelope. */
export function envelopeFields(rt: BusRuntime, options: CallOptions | PublishOptions, ctx: CallContext | undefined): EnvelopeFields {
  const s = ctx?.session;
  const t = ctx?.trace;
  return {
    from: rt.agentId,
    session_id: options.session_id ?? s?.session_id,
    conversation_id: options.conversation_id ?? s?.conversation_id,
    tenant_id: options.tenant_id ?? s?.tenant_id ?? rt.options.tenant,
    user_id: options.user_id ?? s?.user_id,
    channel: options.channel ?? s?.channel,
    traceparent: options.traceparent ?? t?.traceparent,
    trace_id: options.traceparent ? traceIdOf(options.traceparent) : t?.trace_id,
    span_id: options.traceparent ? spanIdOf(options.traceparent) : t?.span_id,
  };
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
