import { currentCallContext } from '../context/call-context.js';
import { BusError } from '../errors/bus-error.js';
import { ErrorCodes } from '../errors/error-codes.js';
import type { PublishOptions } from '../interfaces/call-options.interface.js';
import { endSpan } from '../observability/bus-tracing.js';
import type { Envelope } from '../protocol/envelope.js';
import { assertName } from '../protocol/subjects.js';
import { asTransportError, type BusRuntime } from '../runtime/bus-runtime.js';
import { startTrace } from './call-tracing.js';
import { outgoingEnvelope, requestMetadata } from './request-builder.js';

/** Publishes an event on `{prefix}.events.{eventType}`; session fields default to the ambient call's. */
export function publishEvent(rt: BusRuntime, eventType: string, payload: unknown, options: PublishOptions): Envelope {
  const { env, tracing } = buildEvent(rt, eventType, payload, options);
  try {
    // Subscribers cannot say whether they read chunked messages: an oversize event is refused unless chunkEvents.
    rt.transport.publish(rt.subjects.event(eventType), env, { chunk: rt.options.chunkEvents });
  } catch (err) {
    const e = oversizeEventError(err, rt.options.chunkEvents) ?? asTransportError(err);
    if (tracing) endSpan(tracing.span, e);
    throw e;
  }
  endEvent(rt, env, tracing);
  return env;
}

/**
 * The same event as publishEvent, handed to `store` (a durable log) instead of the transport; resolves once the
 * store has it. Both build the event with buildEvent and count it with endEvent.
 */
export async function publishDurableEvent(
  rt: BusRuntime,
  eventType: string,
  payload: unknown,
  options: PublishOptions,
  store: (env: Envelope) => Promise<void>,
): Promise<Envelope> {
  const { env, tracing } = buildEvent(rt, eventType, payload, options);
  if (options.event_id !== undefined) {
    if (!UUID.test(options.event_id)) {
      throw new BusError(ErrorCodes.INVALID_REQUEST, `event_id "${options.event_id}" is not a UUID (the envelope schema asks for one)`);
    }
    env.event_id = options.event_id;
  }
  try {
    await store(env);
  } catch (err) {
    const e = asTransportError(err);
    if (tracing) endSpan(tracing.span, e);
    throw e;
  }
  endEvent(rt, env, tracing);
  return env;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function buildEvent(rt: BusRuntime, eventType: string, payload: unknown, options: PublishOptions) {
  rt.assertOpen();
  assertName(eventType, 'event type');
  const ctx = currentCallContext();
  const env = outgoingEnvelope(eventType, rt, options, ctx);
  if (payload !== undefined) env.payload = payload;
  if (options.correlation_id !== undefined) env.correlation_id = options.correlation_id;
  const tracing = startTrace(rt, 'publish', eventType, options, ctx);
  const meta = requestMetadata(options, ctx, tracing, env);
  if (meta) env.metadata = meta;
  return { env, tracing };
}

function endEvent(rt: BusRuntime, env: Envelope, tracing: ReturnType<typeof startTrace>): void {
  if (tracing) {
    tracing.span.setAttribute('messaging.message.id', env.event_id);
    endSpan(tracing.span);
  }
  rt.stats.eventsPublished++;
}

/** An event over max_payload, refused because events are not chunked: the two ways out, as for an oversize invoke. */
function oversizeEventError(err: unknown, chunkEvents: boolean | undefined): BusError | undefined {
  if (
    !(err instanceof BusError) ||
    err.code !== ErrorCodes.INVALID_REQUEST ||
    typeof err.details?.size !== 'number' ||
    !/max_payload/.test(err.message) ||
    chunkEvents
  ) {
    return undefined;
  }
  return new BusError(
    ErrorCodes.INVALID_REQUEST,
    `${err.message}: events are not chunked unless the bus option chunkEvents is true (subscribers cannot say whether they read chunked messages, and upstream runtimes do not); set chunkEvents: true when every subscriber is an OpenAgentIO for NestJS agent, or raise the server's max_payload`,
    { cause: err.details },
  );
}
