import type { CallContext } from '../context/call-context.js';
import type { BusError } from '../errors/bus-error.js';
import type { CallOptions, PublishOptions } from '../interfaces/call-options.interface.js';
import { callerParent, endSpan, startCallerSpan, tracingActive } from '../observability/bus-tracing.js';
import type { BusRuntime } from '../runtime/bus-runtime.js';
import type { CallTrace } from './call-trace.js';

/** Starts the caller span of a call (undefined when telemetry is off or no tracer is installed). */
export function startTrace(
  rt: BusRuntime,
  kind: 'invoke' | 'stream' | 'publish',
  name: string,
  options: CallOptions | PublishOptions,
  ctx: CallContext | undefined,
): CallTrace | undefined {
  if (!rt.options.telemetry || !tracingActive()) return undefined;
  const parent = callerParent(ctx?.trace, options.traceparent, options.tracestate);
  const subject = kind === 'publish' ? rt.subjects.event(name) : rt.subjects.invoke(name);
  const attributes = {
    'messaging.system': rt.transport.kind,
    'messaging.operation.name': kind,
    'messaging.destination.name': subject,
    'acp.target': name,
  } as Record<string, string>;
  const session = options.session_id ?? ctx?.session.session_id;
  if (session) attributes['acp.session_id'] = session;
  const conversation = options.conversation_id ?? ctx?.session.conversation_id;
  if (conversation) attributes['acp.conversation_id'] = conversation;
  const tenant = options.tenant_id ?? ctx?.session.tenant_id ?? rt.options.tenant;
  if (tenant) attributes['acp.tenant_id'] = tenant;
  return { span: startCallerSpan(kind, name, parent, attributes), parent };
}

/** What ending a call needs: its kind, target, start time (epoch ms) and span. */
export interface CallRecord {
  readonly kind: 'invoke' | 'stream';
  readonly target: string;
  readonly started: number;
  readonly tracing: CallTrace | undefined;
}

/** Ends a call's span and records its metrics; `frames`: how many a stream received. */
export function endCall(rt: BusRuntime, call: CallRecord, err?: BusError, frames?: number): void {
  const { tracing } = call;
  if (tracing) {
    if (frames !== undefined) tracing.span.setAttribute('acp.stream.frames', frames);
    endSpan(tracing.span, err);
  }
  rt.metrics?.recordCall(call.kind, call.target, err ? err.code : 'ok', Date.now() - call.started);
}
