/** Counters the bus keeps about itself; metrics (OpenTelemetry) read them. */
export class BusStats {
  requestsSent = 0;
  /** Of requestsSent: invokes handed straight to a handler in this process (memory transport), without messages. */
  directCalls = 0;
  requestsServed = 0;
  eventsPublished = 0;
  eventsDelivered = 0;
  framesSent = 0;
  /** Messages that failed to decode, failed the schema, or had an unexpected frame type. */
  invalidMessages = 0;
  /** Requests dropped because nobody could be answered (no reply subject). */
  droppedMessages = 0;
  /** Replies for calls that had already ended (after a timeout or cancel). */
  lateReplies = 0;
  /** Frames on a call's reply inbox that did not belong to it (another correlation_id): dropped. */
  foreignFrames = 0;
  handlerErrors = 0;
  retries = 0;
  deadLetters = 0;
  cancelledByCaller = 0;
  /** Task queue messages that named no task (not a task id, or no such record): terminated, never delivered again. */
  poisonTaskMessages = 0;
  /** Task handlers that returned after their run had ended (timeout, cancel, worker stopping): the outcome was dropped. */
  lateTaskResults = 0;
}
