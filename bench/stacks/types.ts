/** One way of doing request/reply that the bench compares with the others. */
export interface InvokeStack {
  readonly name: string;
  invoke(payload: unknown): Promise<unknown>;
  close(): Promise<void>;
}

/** Publish/subscribe throughput probe: publish `count` events, resolve with events received per second. */
export interface PubSubStack {
  readonly name: string;
  run(count: number, capMs: number, payload: unknown): Promise<{ received: number; seconds: number }>;
  close(): Promise<void>;
}
