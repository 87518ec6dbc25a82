import { EventTypes, type Envelope } from '../protocol/envelope.js';

/**
 * Whether a frame that arrived on a call's reply inbox answers that call: its correlation_id is the request's
 * event_id (acp/1.0 sets it on every response frame). A frame for another call, or forged by a participant that
 * knows the inbox but not the request, is dropped. An error frame without a correlation_id is still taken: a
 * responder that could not read the request (an undecodable or unfetchable body) cannot name it, and an error can
 * only end a call, never put a result or a delta into it.
 */
export function belongsTo(frame: Envelope, request: Envelope): boolean {
  const c = frame.correlation_id;
  return c === request.event_id || (c === undefined && frame.event_type === EventTypes.ERROR);
}
