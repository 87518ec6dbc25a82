import { ControlEventTypes } from '../protocol/extensions.js';
import { createEvent } from '../protocol/envelope-factory.js';
import type { Envelope } from '../protocol/envelope.js';
import type { BusRuntime } from './bus-runtime.js';

/**
 * Control frames between the two ends of a call (cancel, credit, ping/pong): small events sent best effort,
 * whose loss a deadline or a liveness check covers, so a failed send is logged at debug level and dropped.
 */
export class ControlChannel {
  constructor(private readonly rt: BusRuntime) {}

  send(subject: string, eventType: string, correlationId: string, metadata?: Record<string, unknown>, reply?: string): void {
    // While closing only cancels still matter: they free the other side's work.
    if (this.rt.closing && eventType !== ControlEventTypes.CANCEL) return;
    const env = createEvent(eventType, undefined, { from: this.rt.agentId });
    env.correlation_id = correlationId;
    if (metadata) env.metadata = metadata;
    try {
      this.rt.transport.publish(subject, env, reply ? { reply } : undefined);
    } catch (err) {
      this.rt.logger.debug?.(`control ${eventType} to ${subject} failed: ${(err as Error).message}`);
    }
  }

  /** Cancels a call at the responder: directly when its control subject is known, else by broadcast. */
  cancelRemote(target: string, request: Envelope, controlSubject?: string): void {
    this.send(controlSubject ?? this.rt.subjects.cancel(target), ControlEventTypes.CANCEL, request.event_id);
  }
}
