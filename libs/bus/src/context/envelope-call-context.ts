import type { Envelope } from '../protocol/envelope.js';
import { MetaKeys } from '../protocol/extensions.js';
import type { CallContext, SessionInfo, TraceInfo } from './call-context.js';

/** The session fields of an envelope. */
export function sessionOf(env: Envelope): SessionInfo {
  return {
    session_id: env.session_id,
    conversation_id: env.conversation_id,
    tenant_id: env.tenant_id,
    user_id: env.user_id,
    channel: env.channel,
  };
}

/** The trace context of an envelope: W3C fields, with tracestate and baggage from `acp.*` metadata. */
export function traceOf(env: Envelope): TraceInfo {
  const meta = env.metadata;
  const tracestate = meta?.[MetaKeys.TRACESTATE];
  const baggage = meta?.[MetaKeys.BAGGAGE];
  return {
    trace_id: env.trace_id,
    span_id: env.span_id,
    traceparent: env.traceparent,
    tracestate: typeof tracestate === 'string' ? tracestate : undefined,
    baggage: typeof baggage === 'string' ? baggage : undefined,
  };
}

/** What `signal` is read from: an AbortSignal, or anything that makes one on demand (LazyAbort). */
export interface SignalSource {
  readonly signal: AbortSignal;
}

/**
 * The CallContext of a request or event that arrived as an envelope. Session and trace objects are built on
 * first read (most handlers read neither), and the signal comes from its source only when asked for.
 */
export class EnvelopeCallContext implements CallContext {
  private sessionInfo?: SessionInfo;
  private traceInfo?: TraceInfo;

  constructor(
    readonly envelope: Envelope,
    readonly target: string,
    readonly kind: CallContext['kind'],
    private readonly abort: SignalSource | AbortSignal,
    readonly deadline: number | undefined,
  ) {}

  get signal(): AbortSignal {
    const a = this.abort;
    return a instanceof AbortSignal ? a : a.signal;
  }

  get session(): Readonly<SessionInfo> {
    return (this.sessionInfo ??= sessionOf(this.envelope));
  }

  get trace(): Readonly<TraceInfo> {
    return (this.traceInfo ??= traceOf(this.envelope));
  }
}
