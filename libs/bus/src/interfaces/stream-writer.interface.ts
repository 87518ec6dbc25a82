/**
 * What a stream handler writes through (injected with `@Writer()` in Nest, `ctx.writer` programmatically).
 * Every write waits for flow-control credit, so a producer never runs more than a window ahead of its consumer.
 *
 * @example
 * @Stream('writer')
 * async write(@Payload() p: Topic, @Writer() out: StreamWriter) {
 *   for (const word of words(p)) await out.delta(word + ' ');
 *   return 'done';
 * }
 */
export interface StreamWriter {
  /** Sends a `delta` frame: a string as `{delta}`, an object with `delta`/`data` as is, anything else as `{data}`. */
  delta(value: unknown): Promise<void>;
  /** Sends a `delta` frame with `{data: value}`. */
  data(value: unknown): Promise<void>;
  /**
   * Sends the `started` frame now, with `meta` merged into its `{meta}` payload (e.g. an upstream model and id).
   * Only handlers registered with `deferStarted` choose when `started` goes out; for others it has already been
   * sent and this does nothing.
   */
  started(meta?: Record<string, unknown>): Promise<void>;
  /** Frames written so far (started included). */
  readonly sent: number;
  /** Aborted when the caller cancels or the deadline passes; writes then reject. */
  readonly signal: AbortSignal;
}
