import {
  ProxyTracerProvider,
  context as otelContext,
  createTraceState,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Context,
  type Span,
  type SpanContext,
} from '@opentelemetry/api';
import type { TraceInfo } from '../context/call-context.js';
import type { BusError } from '../errors/bus-error.js';
import type { Envelope } from '../protocol/envelope.js';

/** Span names (see docs/observability.md): caller side and handler side. */
export const SpanNames = {
  invoke: (target: string) => `invoke ${target}`,
  stream: (target: string) => `stream ${target}`,
  publish: (eventType: string) => `publish ${eventType}`,
  handle: (target: string) => `handle ${target}`,
  task: (target: string) => `task ${target}`,
} as const;

const TRACER_NAME = 'openagentio-bus';

// The API's global provider is a proxy whose delegate is a no-op until an SDK registers one.
const NOOP_DELEGATE = new ProxyTracerProvider().getDelegate();

/**
 * Whether an OpenTelemetry SDK is tracing. Without one, spans would only be thrown away, so the bus skips them
 * and passes the inbound trace context through unchanged. Checked per call: an SDK started later takes effect.
 */
export function tracingActive(): boolean {
  const provider = trace.getTracerProvider() as ProxyTracerProvider;
  return typeof provider.getDelegate !== 'function' || provider.getDelegate() !== NOOP_DELEGATE;
}

function tracer() {
  return trace.getTracer(TRACER_NAME);
}

/**
 * The parent of a new caller span: the active OpenTelemetry span when an SDK is running, else the trace
 * context of the call being served (so, without an SDK, `traceparent` passes through unchanged).
 */
export function callerParent(
  inherited: Readonly<TraceInfo> | undefined,
  explicitTraceparent?: string,
  explicitTracestate?: string,
): Context {
  const active = otelContext.active();
  if (explicitTraceparent) return contextFromTraceparent(explicitTraceparent, explicitTracestate, active);
  if (trace.getSpan(active)) return active;
  if (inherited?.traceparent) return contextFromTraceparent(inherited.traceparent, inherited.tracestate, active);
  return active;
}

export function startCallerSpan(kind: 'invoke' | 'stream' | 'publish', name: string, parent: Context, attributes: Attributes): Span {
  const spanKind = kind === 'publish' ? SpanKind.PRODUCER : SpanKind.CLIENT;
  const spanName = kind === 'invoke' ? SpanNames.invoke(name) : kind === 'stream' ? SpanNames.stream(name) : SpanNames.publish(name);
  return tracer().startSpan(spanName, { kind: spanKind, attributes }, parent);
}

/** Writes the span's W3C context into the envelope (traceparent, trace_id, span_id) and tracestate/baggage into metadata. */
export function injectTrace(
  span: Span,
  parent: Context,
  env: Envelope,
  fallback: { tracestate?: string; baggage?: string },
): { tracestate?: string; baggage?: string } {
  const sc = span.spanContext();
  let tracestate = fallback.tracestate;
  if (trace.isSpanContextValid(sc)) {
    env.trace_id = sc.traceId;
    env.span_id = sc.spanId;
    env.traceparent = `00-${sc.traceId}-${sc.spanId}-${(sc.traceFlags & 0xff).toString(16).padStart(2, '0')}`;
    const ts = sc.traceState?.serialize();
    if (ts) tracestate = ts;
  }
  const bag = propagation.getBaggage(parent);
  const baggage = bag
    ? bag
        .getAllEntries()
        .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v.value)}`)
        .join(',') || fallback.baggage
    : fallback.baggage;
  return { tracestate, baggage };
}

/** The remote parent a handler span continues: the envelope's traceparent (+ tracestate and baggage). */
export function handlerParent(env: Envelope, tracestate?: string, baggage?: string): Context {
  let ctx: Context = env.traceparent ? contextFromTraceparent(env.traceparent, tracestate, ROOT_CONTEXT) : ROOT_CONTEXT;
  if (baggage) {
    const entries: Record<string, { value: string }> = {};
    for (const part of baggage.split(',')) {
      const [k, ...rest] = part.split('=');
      if (!k || rest.length === 0) continue;
      try {
        entries[decodeURIComponent(k.trim())] = { value: decodeURIComponent(rest.join('=').split(';')[0].trim()) };
      } catch {
        // a malformed baggage member is dropped, as W3C says
      }
    }
    ctx = propagation.setBaggage(ctx, propagation.createBaggage(entries));
  }
  return ctx;
}

export function startHandlerSpan(kind: 'invoke' | 'stream' | 'event', target: string, parent: Context, attributes: Attributes): Span {
  return tracer().startSpan(SpanNames.handle(target), { kind: kind === 'event' ? SpanKind.CONSUMER : SpanKind.SERVER, attributes }, parent);
}

/** One run (attempt) of a task: under the trace the task was submitted in, when it carries one. */
export function startTaskSpan(target: string, parent: Context, attributes: Attributes): Span {
  return tracer().startSpan(SpanNames.task(target), { kind: SpanKind.CONSUMER, attributes }, parent);
}

/** Runs `fn` with `span` as the active span, so nested calls become its children. */
export function withSpan<T>(parent: Context, span: Span, fn: () => T): T {
  return otelContext.with(trace.setSpan(parent, span), fn);
}

export function endSpan(span: Span, error?: BusError): void {
  if (error) {
    span.setAttribute('acp.error.code', error.code);
    span.setStatus({ code: SpanStatusCode.ERROR, message: error.message });
  }
  span.end();
}

/** Messaging semantic-convention attributes plus the acp session fields. */
export function spanAttributes(system: string, operation: string, destination: string, env: Envelope, target: string): Attributes {
  const a: Attributes = {
    'messaging.system': system,
    'messaging.operation.name': operation,
    'messaging.destination.name': destination,
    'messaging.message.id': env.event_id,
    'acp.target': target,
  };
  if (env.correlation_id) a['messaging.message.conversation_id'] = env.correlation_id;
  if (env.session_id) a['acp.session_id'] = env.session_id;
  if (env.conversation_id) a['acp.conversation_id'] = env.conversation_id;
  if (env.tenant_id) a['acp.tenant_id'] = env.tenant_id;
  if (env.user_id) a['acp.user_id'] = env.user_id;
  return a;
}

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

function contextFromTraceparent(traceparent: string, tracestate: string | undefined, base: Context): Context {
  const m = TRACEPARENT.exec(traceparent.trim().toLowerCase());
  if (!m || m[1] === 'ff') return base;
  const sc: SpanContext = {
    traceId: m[2],
    spanId: m[3],
    traceFlags: parseInt(m[4], 16),
    isRemote: true,
  };
  if (!trace.isSpanContextValid(sc)) return base;
  if (tracestate) sc.traceState = createTraceState(tracestate);
  return trace.setSpanContext(base, sc);
}
