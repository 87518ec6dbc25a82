import type { DiscoveryAnnouncement } from './announcement.js';
import type { DiscoveryBackend } from './discovery-backend.js';
import type { MemoryDiscoveryRegistry } from './memory-discovery-registry.js';
import type { ServiceVerb } from './micro-types.js';
import type { ControlVerb, DrainResponse } from './drain-control.js';
import { SpanRing, SPANS_RESPONSE_TYPE, type SpanQuery, type SpansResponse } from '../observability/span-ring.js';

/** The same questions answered from the memory broker's registry: the responses a NATS service would send. */
export class MemoryDiscoveryBackend implements DiscoveryBackend {
  constructor(private readonly registry: MemoryDiscoveryRegistry) {}

  async query(verb: ServiceVerb, name?: string, id?: string): Promise<unknown[]> {
    const out: unknown[] = [];
    for (const s of this.registry.list()) {
      if ((name && s.name !== name) || (id && s.id !== id)) continue;
      // A copy, as a message would be: callers may keep or change what they get.
      out.push(structuredClone(verb === 'PING' ? s.ping() : verb === 'INFO' ? s.info() : s.stats()));
    }
    return out;
  }

  async control(verb: ControlVerb, name: string, id: string): Promise<DrainResponse | undefined> {
    return this.registry.control(verb, name, id);
  }

  /** In memory every bus is in this process: the one installed ring answers once. */
  async spans(query: SpanQuery): Promise<SpansResponse[]> {
    const ring = SpanRing.current;
    const [s] = this.registry.list();
    if (!ring || !s) return [];
    return [{ type: SPANS_RESPONSE_TYPE, name: s.name, id: s.id, spans: structuredClone(ring.query(query)) }];
  }

  async watch(listener: (a: DiscoveryAnnouncement) => void): Promise<() => void> {
    return this.registry.watch((a) => listener(structuredClone(a)));
  }
}
