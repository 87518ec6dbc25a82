import type { MemoryBroker } from '../transport/memory/memory-broker.js';
import { enqueueDelivery } from '../utils/delivery-queue.js';
import { AnnouncementTypes, type DiscoveryAnnouncement } from './announcement.js';
import type { LocalService } from './local-service.js';
import type { ServiceHost } from './service-host.js';
import type { ControlVerb, DrainControl, DrainResponse } from './drain-control.js';
import { DRAIN_RESPONSE_TYPE } from './drain-control.js';

const registries = new WeakMap<MemoryBroker, MemoryDiscoveryRegistry>();

/**
 * The services of the buses on one memory broker: what `$SRV.*` would find on a NATS server, kept beside the
 * broker (one registry per broker, as one Services API per server). Announcements reach watchers later in order,
 * as deliveries do.
 */
export class MemoryDiscoveryRegistry {
  private readonly services = new Set<LocalService>();
  private readonly watchers = new Set<(a: DiscoveryAnnouncement) => void>();
  /** Each started service's drain control (kept while it is drained, which takes it out of `services`). */
  private readonly controls = new Map<string, { service: LocalService; control?: DrainControl }>();

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

  /** DRAIN or RESUME to one instance, as `$SRV.<verb>.<name>.<id>` would reach it; undefined when none answers. */
  control(verb: ControlVerb, name: string, id: string): DrainResponse | undefined {
    const c = this.controls.get(id);
    if (!c?.control || c.service.name !== name) return undefined;
    return { type: DRAIN_RESPONSE_TYPE, name, id, ...c.control(verb) };
  }

  /** The ServiceHost of a bus on this broker. */
  hostFor(service: LocalService, control?: DrainControl): ServiceHost {
    return {
      setListed: (listed) => {
        if (!this.controls.has(service.id)) return;
        if (listed && !this.services.has(service)) {
          this.services.add(service);
          this.announce({ type: AnnouncementTypes.CHANGED, info: service.info() });
        } else if (!listed && this.services.delete(service)) {
          this.announce({ type: AnnouncementTypes.STOPPED, name: service.name, id: service.id });
        }
      },
      start: async () => {
        this.controls.set(service.id, { service, control });
        this.services.add(service);
        this.announce({ type: AnnouncementTypes.CHANGED, info: service.info() });
      },
      changed: () => {
        if (this.services.has(service)) this.announce({ type: AnnouncementTypes.CHANGED, info: service.info() });
      },
      stop: () => {
        this.controls.delete(service.id);
        if (this.services.delete(service)) this.announce({ type: AnnouncementTypes.STOPPED, name: service.name, id: service.id });
      },
    };
  }

  private announce(a: DiscoveryAnnouncement): void {
    for (const w of this.watchers) enqueueDelivery(() => w(a));
  }
}
