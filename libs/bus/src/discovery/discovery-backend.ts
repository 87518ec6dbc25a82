import type { DiscoveryAnnouncement } from './announcement.js';
import type { ServiceVerb } from './micro-types.js';

/** Where a DiscoveryClient asks: the Services API over NATS, or the broker's registry in memory. */
export interface DiscoveryBackend {
  /** Every response to `$SRV.<verb>[.<name>[.<id>]]` (JSON objects of the verb's response type). */
  query(verb: ServiceVerb, name?: string, id?: string): Promise<unknown[]>;
  /** Hears announcements from now on; resolves (once subscribed) with the function that stops it. */
  watch(listener: (a: DiscoveryAnnouncement) => void): Promise<() => void>;
}
