import { currentCallContext } from '../context/call-context.js';
import type { PublishOptions } from '../interfaces/call-options.interface.js';
import { endSpan } from '../observability/bus-tracing.js';
import { createEvent } from '../protocol/envelope-factory.js';
import type { Envelope } from '../protocol/envelope.js';
import { assertName } from '../protocol/subjects.js';
import { asTransportError, type BusRuntime } from '../runtime/bus-runtime.js';
import { startTrace } from './call-tracing.js';
import { envelopeFields, requestMetadata } from './request-builder.js';

/** Publishes an event on `{prefix}.events.{eventType}`; session fields default to the ambient call's. */
export function publishEvent(rt: BusRuntime, eventType: string, payload: unknown, options: PublishOptions): Envelope {
  rt.assertOpen();
  assertName(eventType, 'event type');
  const ctx = currentCallContext();
  const env = createEvent(eventType, payload, envelopeFields(rt, options, ctx));
  if (options.correlation_id !== undefined) env.correlation_id = options.correlation_id;
  const tracing = startTrace(rt, 'publish', eventType, options, ctx);
  const meta = requestMetadata(options, ctx, tracing, env);
  if (meta) env.metadata = meta;
  try {
    // Subscribers cannot say whether they read chunked messages: an oversize event is refused unless chunkEvents.
    rt.transport.publish(rt.subjects.event(eventType), env, { chunk: rt.options.chunkEvents });
  } catch (err) {
    const e = asTransportError(err);
    if (tracing) endSpan(tracing.span, e);
    throw e;
  }
  if (tracing) {
    tracing.span.setAttribute('messaging.message.id', env.event_id);
    endSpan(tracing.span);
  }
  rt.stats.eventsPublished++;
  return env;
}
