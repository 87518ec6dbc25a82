/** A live event subscription or handler registration. */
export interface BusSubscription {
  unsubscribe(): void;
  /** Resolves once the server has the subscription (a transport flush): await it before relying on delivery. */
  readonly ready: Promise<void>;
}
