import type { MemoryBroker } from '../transport/memory/memory-broker.js';
import { enqueueDelivery } from '../utils/delivery-queue.js';
import { AnnouncementTypes, type DiscoveryAnnouncement } from './announcement.js';
import type { LocalService } from './local-service.js';
import type { ServiceHost } from './service-host.js';

const registries = new WeakMap<MemoryBroker, MemoryDiscoveryRegistry>();

/**
 * The services of the buses on one memory broker: what `$SRV.*` would find on a NATS server, kept beside the
 * broker (one registry per broker, as one Services API per server). Announcements reach watchers later in order,
 * as deliveries do.
 */
export class MemoryDiscoveryRegistry {
  private readonly services = new Set<LocalService>();
  private readonly watchers = new Set<(a: DiscoveryAnnouncement) => void>();

  static of(broker: MemoryBroker): MemoryDiscoveryRegistry {
    let r = registries.get(broker);
    if (!r) registries.set(broker, (r = new MemoryDiscoveryRegistry()));
    return r;
  }

  /** The services answering now. */
  list(): LocalService[] {
    return [...this.services];
  }

  /** Hears every announcement from now on; returns the function that stops it. */
  watch(listener: (a: DiscoveryAnnouncement) => void): () => void {
    this.watchers.add(listener);
    return () => this.watchers.delete(listener);
  }

  /** The ServiceHost of a bus on this broker. */
  hostFor(service: LocalService): ServiceHost {
    return {
      start: async () => {
        this.services.add(service);
        this.announce({ type: AnnouncementTypes.CHANGED, info: service.info() });
      },
      changed: () => {
        if (this.services.has(service)) this.announce({ type: AnnouncementTypes.CHANGED, info: service.info() });
      },
      stop: () => {
        if (this.services.delete(service)) this.announce({ type: AnnouncementTypes.STOPPED, name: service.name, id: service.id });
      },
    };
  }

  private announce(a: DiscoveryAnnouncement): void {
    for (const w of this.watchers) enqueueDelivery(() => w(a));
  }
}
