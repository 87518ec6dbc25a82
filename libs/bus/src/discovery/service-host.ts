/**
 * The transport-specific half of a bus's service: it answers the Services API (NATS) or sits in the broker's
 * registry (memory), and tells watchers when the targets change.
 */
export interface ServiceHost {
  /** Starts answering; resolves once it does (on NATS: the server has the subscriptions). */
  start(): Promise<void>;
  /** The targets changed (BusDiscovery coalesces a burst of registrations into one call). */
  changed(): void;
  /** Stops answering and tells watchers that this instance is gone. */
  stop(): void;
  /**
   * Drained (false): no answers to PING, INFO and STATS and a `stopped` announcement, as if gone, while still
   * hearing DRAIN and RESUME; listed again (true): announced again.
   */
  setListed(listed: boolean): void;
}
