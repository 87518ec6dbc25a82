import type { BusError } from '../errors/bus-error.js';
import type { Envelope } from '../protocol/envelope.js';
import { describeSubject, isPublishableSubject } from '../protocol/subjects.js';
import type { BusRuntime } from '../runtime/bus-runtime.js';

/** Where a dead letter came from. */
export interface DeadLetterInfo {
  attempts: number;
  subject: string;
  consumer: string;
}

/**
 * Publishes an event whose handler failed for good to `{prefix}.dlq.{event_type}` (never tenant-scoped): the
 * original envelope, unchanged but for metadata keys `dlq_error_code`, `dlq_error_message`, `dlq_attempts`,
 * `dlq_subject`, `dlq_consumer`, `dlq_agent` and `dlq_failed_at`.
 */
export function publishDeadLetter(rt: BusRuntime, original: Envelope, error: BusError, info: DeadLetterInfo): void {
  const dead = deadLetterEnvelope(rt, original, error, info);
  const subject = rt.subjects.deadLetter(original.event_type);
  if (!isPublishableSubject(subject)) {
    rt.stats.droppedMessages++;
    rt.logger.error(`could not dead-letter ${original.event_id}: its event_type makes an unusable subject (${describeSubject(subject)})`);
    return;
  }
  try {
    rt.transport.publish(subject, dead);
    rt.stats.deadLetters++;
  } catch (err) {
    rt.logger.error(`could not dead-letter ${original.event_id}: ${(err as Error).message}`);
  }
}

/** The dead letter of `original`: the same envelope with the `dlq_*` metadata keys added. */
export function deadLetterEnvelope(rt: BusRuntime, original: Envelope, error: BusError, info: DeadLetterInfo): Envelope {
  return {
    ...original,
    metadata: {
      ...(original.metadata ?? {}),
      dlq_error_code: error.code,
      dlq_error_message: error.message,
      dlq_attempts: info.attempts,
      dlq_subject: info.subject,
      dlq_consumer: info.consumer,
      dlq_agent: rt.agentId,
      dlq_failed_at: new Date().toISOString(),
    },
  };
}
