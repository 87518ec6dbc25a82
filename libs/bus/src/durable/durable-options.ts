/** Where a durable subscription starts the first time its consumer is made (an existing one keeps its place). */
export type DeliverFrom = 'new' | 'beginning' | Date | { seq: number };

/** The fields of SubscribeOptions that make a subscription durable (docs/events.md). */
export interface DurableSubscribeOptions {
  /**
   * Consume through a durable consumer of this name (letters, digits, `_`, `-`; at most 64): every replica with
   * the same name shares its events, each name gets every event. Without it the subscription is core pub/sub.
   */
  durable?: string;
  /** Where a new durable consumer starts. Default `'new'` (events published from now on). */
  deliverFrom?: DeliverFrom;
  /** Handler runs in flight for this consumer in this process. Default 1 (one at a time, in stream order). */
  concurrency?: number;
  /**
   * How long the server waits for an event's outcome before it delivers it again (ms). A handler that runs longer
   * is kept alive (progress acks every third of it), so it is not redelivered meanwhile. Default 30 000.
   */
  ackWaitMs?: number;
}

/** The log that durable events go to (BusClientOptions.durableEvents). */
export interface DurableEventsOptions {
  /** JetStream stream that captures the events; created when missing, adopted as it is when it exists. Default `ACP_EVENTS`. */
  stream?: string;
  /**
   * Subjects the stream captures when the bus creates it. Default: the bus's event subjects and dead letters,
   * `{scope}.events.>` and `{prefix}.dlq.>`.
   */
  subjects?: string[];
  /** `limits` (kept until max age/bytes, replayable) or `interest` (kept while a consumer still needs it). Default `limits`. */
  retention?: 'limits' | 'interest';
  /** How long events are kept (ms). Default 7 days. */
  maxAgeMs?: number;
  /** Bytes the stream may hold; past it the oldest go. Default unlimited (-1). */
  maxBytes?: number;
  /** Replicas of a stream the bus creates. Default: 3 on a cluster of 3 or more, else 1. */
  replicas?: number;
  /** Window in which a publish with the same event_id is stored once (ms). Default 120 000. */
  duplicateWindowMs?: number;
  /** How long a durable publish or ack retries through a lost server or an election (ms). Default 20 000. */
  retryWindowMs?: number;
  /** Memory transport: events the in-process log keeps; past it the oldest go. Default 10 000. */
  memoryMaxMessages?: number;
}

/** A one-off replay of a time window (bus.replay). */
export interface ReplayOptions {
  /** First instant replayed. */
  from: Date;
  /** Last instant replayed. Default: now (the replay ends at the last event stored when it starts). */
  to?: Date;
}
