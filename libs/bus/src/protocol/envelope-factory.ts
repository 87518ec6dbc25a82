import { EventTypes, FRAME_TYPE_OF, SCHEMA_VERSION, SPEC_VERSION, type Envelope } from './envelope.js';
import { newEventId, nowRfc3339 } from './ids.js';

/** Envelope fields a caller may set on a request or event. */
export interface EnvelopeFields {
  session_id?: string;
  conversation_id?: string;
  tenant_id?: string;
  user_id?: string;
  channel?: string;
  trace_id?: string;
  span_id?: string;
  traceparent?: string;
  from?: string;
  to?: string;
  reply_to?: string;
  metadata?: Record<string, unknown>;
}

/** The fields every envelope starts with (id, time, versions, frame type), in wire order. */
export function createEnvelope(eventType: string): Envelope {
  const now = Date.now();
  const env: Envelope = {
    spec_version: SPEC_VERSION,
    schema_version: SCHEMA_VERSION,
    event_id: newEventId(now),
    event_type: eventType,
    occurred_at: nowRfc3339(now),
  };
  const frameType = FRAME_TYPE_OF[eventType];
  if (frameType) env.frame_type = frameType;
  return env;
}

function assignFields(env: Envelope, fields: EnvelopeFields): Envelope {
  for (const key in fields) {
    const v = (fields as Record<string, unknown>)[key];
    if (v !== undefined && v !== '') (env as unknown as Record<string, unknown>)[key] = v;
  }
  return env;
}

/** An invoke/stream request (`agent.message.received`) to `to`. */
export function createRequest(payload: unknown, fields: EnvelopeFields): Envelope {
  const env = assignFields(createEnvelope(EventTypes.REQUEST), fields);
  if (payload !== undefined) env.payload = payload;
  return env;
}

/** A pub/sub event with a business routing key (`orders.created`). */
export function createEvent(eventType: string, payload: unknown, fields: EnvelopeFields): Envelope {
  const env = assignFields(createEnvelope(eventType), fields);
  if (payload !== undefined) env.payload = payload;
  return env;
}

/**
 * A reply frame to `request`: copies session and trace fields, sets correlation_id, from/to, and inherits the
 * request metadata minus every `acp.*` key, with `metadata` merged over it key by key.
 */
export function createReply(
  request: Envelope,
  eventType: string,
  payload: unknown,
  opts: { from?: string; seq?: number; isFinal?: boolean; metadata?: Record<string, unknown> } = {},
): Envelope {
  const env = createEnvelope(eventType);
  // REPLY_COPIED_FIELDS, in its order, written out: each field its own access site (a keyed load and store in a
  // loop over the names is a megamorphic lookup per field, on every stream frame).
  if (request.session_id) env.session_id = request.session_id;
  if (request.conversation_id) env.conversation_id = request.conversation_id;
  if (request.tenant_id) env.tenant_id = request.tenant_id;
  if (request.user_id) env.user_id = request.user_id;
  if (request.channel) env.channel = request.channel;
  if (request.trace_id) env.trace_id = request.trace_id;
  if (request.span_id) env.span_id = request.span_id;
  if (request.traceparent) env.traceparent = request.traceparent;
  env.correlation_id = request.event_id;
  if (opts.from) env.from = opts.from;
  if (request.from) env.to = request.from;
  if (opts.seq) env.seq = opts.seq;
  if (opts.isFinal) env.is_final = true;
  if (payload !== undefined) env.payload = payload;
  const metadata = inheritMetadata(request.metadata, opts.metadata);
  if (metadata) env.metadata = metadata;
  return env;
}

function inheritMetadata(
  requestMeta: Record<string, unknown> | undefined,
  own: Record<string, unknown> | undefined,
): Record<string, unknown> | undefined {
  let out: Record<string, unknown> | undefined;
  if (requestMeta) {
    for (const key in requestMeta) {
      if (key.startsWith('acp.')) continue;
      (out ??= {})[key] = requestMeta[key];
    }
  }
  if (own) {
    for (const key in own) (out ??= {})[key] = own[key];
  }
  return out;
}
