import type { DiscoveryAnnouncement } from './announcement.js';
import type { ServiceVerb } from './micro-types.js';
import type { ControlVerb, DrainResponse } from './drain-control.js';
import type { SpanQuery, SpansResponse } from '../observability/span-ring.js';

/** Where a DiscoveryClient asks: the Services API over NATS, or the broker's registry in memory. */
export interface DiscoveryBackend {
  /** Every response to `$SRV.<verb>[.<name>[.<id>]]` (JSON objects of the verb's response type). */
  query(verb: ServiceVerb, name?: string, id?: string): Promise<unknown[]>;
  /** DRAIN or RESUME to one instance; undefined when it does not answer (gone, or control off). */
  control(verb: ControlVerb, name: string, id: string): Promise<DrainResponse | undefined>;
  /** Every process's recent spans that match (`$SRV.SPANS`), one answer per bus that holds a SpanRing. */
  spans(query: SpanQuery): Promise<SpansResponse[]>;
  /** Hears announcements from now on; resolves (once subscribed) with the function that stops it. */
  watch(listener: (a: DiscoveryAnnouncement) => void): Promise<() => void>;
}
