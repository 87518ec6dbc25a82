import type { Envelope } from '../protocol/envelope.js';
import type { DeliverFrom } from './durable-options.js';

/** One event handed to a durable consumer; exactly one of ack, nak and term settles it. */
export interface DurableDelivery {
  readonly subject: string;
  readonly envelope: Envelope;
  /** Position in the log (the stream sequence). */
  readonly seq: number;
  /** 1 on the first delivery, n on the n-th. */
  readonly deliveryCount: number;
  ack(): Promise<void>;
  /** Deliver again after `delayMs`. */
  nak(delayMs: number): void;
  /** Never deliver again. */
  term(): void;
  /** Still being handled: restart the ack wait. */
  working(): void;
}

export interface DurableConsumerSpec {
  name: string;
  /** Subject filter (wildcards allowed). */
  filter: string;
  deliverFrom: DeliverFrom;
  concurrency: number;
  ackWaitMs: number;
}

export interface DurableConsumerHandle {
  /** Stops taking events; events in flight finish (or are redelivered after the ack wait). */
  stop(): Promise<void>;
}

/**
 * Where durable events live: a JetStream stream (NATS) or a bounded in-process log (memory). Both capture the core
 * publishes on their subjects, de-duplicate durable publishes on the event id, and redeliver what is not acked.
 */
export interface DurableEventLog {
  /** Stores the envelope (once per message id, default its event_id, within the duplicate window); resolves when stored. */
  publish(subject: string, envelope: Envelope, msgId?: string): Promise<{ seq: number; duplicate: boolean }>;
  /** Whether the log stores what is published on `subject`. */
  captures(subject: string): boolean;
  consume(spec: DurableConsumerSpec, run: (d: DurableDelivery) => Promise<void>): Promise<DurableConsumerHandle>;
  /** Hands every stored event on `filter` from `from` to `to` to `each`, in order; resolves with how many. */
  replay(filter: string, from: Date, to: Date, each: (subject: string, env: Envelope) => Promise<void> | void): Promise<number>;
  close(): Promise<void>;
}
