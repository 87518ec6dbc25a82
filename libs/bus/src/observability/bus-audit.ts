import { logs, ROOT_CONTEXT, SeverityNumber, trace, TraceFlags, type Attributes, type Logger, type SpanContext } from '@opentelemetry/api';
import type { BusError } from '../errors/bus-error.js';
import type { Envelope } from '../protocol/envelope.js';

/** The OpenTelemetry logger name of audit records (docs/security.md, "Audit trail"). */
export const AUDIT_LOGGER = 'openagentio-audit';

/** `eventName` of the record of a served invoke or stream. */
export const AUDIT_EVENT_SERVED = 'acp.audit.served';

/**
 * The audit trail of one bus (`audit: true`): one OpenTelemetry log record per invoke or stream served, saying
 * who called what and how it ended. It reads envelope header fields only, never the payload, so no payload
 * content can reach a log backend through it. The logger is the API's proxy: records go to whichever
 * LoggerProvider is registered, also one registered after the bus was created.
 */
export class BusAudit {
  private readonly logger: Logger = logs.getLogger(AUDIT_LOGGER);

  constructor(private readonly agentId: string) {}

  /**
   * A handler's part of a call has ended. `span`: the handler span when one was recorded, so that the record
   * belongs to it; otherwise the caller's span from the envelope.
   */
  served(kind: 'invoke' | 'stream', target: string, env: Envelope, error: BusError | undefined, ms: number, span?: SpanContext): void {
    const outcome = error ? error.code : 'ok';
    const attributes: Attributes = {
      'acp.audit.source': 'bus',
      'acp.agent': this.agentId,
      'acp.kind': kind,
      'acp.target': target,
      'acp.outcome': outcome,
      'acp.duration_ms': ms,
      'acp.request_id': env.event_id,
    };
    if (env.from) attributes['acp.caller'] = env.from;
    if (env.tenant_id) attributes['acp.tenant_id'] = env.tenant_id;
    if (env.user_id) attributes['acp.user_id'] = env.user_id;
    if (env.session_id) attributes['acp.session_id'] = env.session_id;
    if (env.trace_id) attributes['acp.trace_id'] = env.trace_id;
    const sc = span ?? callerSpan(env);
    this.logger.emit({
      eventName: AUDIT_EVENT_SERVED,
      severityNumber: error ? SeverityNumber.WARN : SeverityNumber.INFO,
      severityText: error ? 'WARN' : 'INFO',
      body: `${kind} ${target} from ${env.from ?? 'unknown'}: ${outcome}`,
      attributes,
      context: sc ? trace.setSpanContext(ROOT_CONTEXT, sc) : ROOT_CONTEXT,
    });
  }
}

/** The caller's span as the envelope names it (trace_id and span_id, set from traceparent when it was sent). */
function callerSpan(env: Envelope): SpanContext | undefined {
  if (!env.trace_id || !env.span_id) return undefined;
  const flags = env.traceparent ? parseInt(env.traceparent.slice(-2), 16) : TraceFlags.NONE;
  const sc: SpanContext = {
    traceId: env.trace_id,
    spanId: env.span_id,
    traceFlags: Number.isNaN(flags) ? TraceFlags.NONE : flags,
    isRemote: true,
  };
  return trace.isSpanContextValid(sc) ? sc : undefined;
}
