import type { ResolvedDiscoveryOptions } from '../interfaces/discovery-options.interface.js';
import type { BusLogger } from '../runtime/bus-logger.js';
import { MemoryTransport } from '../transport/memory/memory-transport.js';
import type { Transport } from '../transport/transport.interface.js';
import { LocalService } from './local-service.js';
import { MemoryDiscoveryRegistry } from './memory-discovery-registry.js';
import { NatsServiceHost } from './nats-service-host.js';
import { rawNatsOf } from './raw-nats.js';
import type { ServedEndpoint } from './served-endpoint.js';
import type { ServiceHost } from './service-host.js';
import type { DrainControl } from './drain-control.js';

/** What BusDiscovery needs of its bus. */
export interface DiscoveryBus {
  readonly transport: Transport;
  readonly logger: BusLogger;
  readonly subjectPrefix: string;
  readonly tenant?: string;
}

/**
 * A bus's side of discovery, owned by BusClient: its service (PING/INFO/STATS from the responder's registrations
 * and counters) and the host that makes it visible on its transport. Registrations in a burst (a Nest app's
 * handlers at start, a bridge's tools) are announced once, at the end of the turn.
 */
export class BusDiscovery {
  readonly service: LocalService;
  private host?: ServiceHost;
  private announceScheduled = false;
  /** Set by the bus when `control` is on: what DRAIN and RESUME do. */
  control?: DrainControl;

  constructor(
    options: ResolvedDiscoveryOptions,
    endpoints: () => Iterable<ServedEndpoint>,
    private readonly bus: DiscoveryBus,
  ) {
    this.service = new LocalService(options, endpoints, bus.tenant);
  }

  /** Starts answering on the connected transport. Never fails the bus: a refusal is logged and the bus goes on. */
  async start(): Promise<void> {
    const { transport, logger } = this.bus;
    const nc = rawNatsOf(transport);
    if (nc) this.host = new NatsServiceHost(nc, this.service, this.bus.subjectPrefix, logger, this.control);
    else if (transport instanceof MemoryTransport)
      this.host = MemoryDiscoveryRegistry.of(transport.broker).hostFor(this.service, this.control);
    else {
      logger.debug?.(`discovery: the ${transport.kind} transport has no Services API; this bus is not listed`);
      return;
    }
    try {
      await this.host.start();
    } catch (err) {
      logger.warn(`discovery: could not start answering the Services API: ${(err as Error).message}`);
    }
  }

  /** A target was registered or removed. */
  targetsChanged(): void {
    if (!this.host || this.announceScheduled) return;
    this.announceScheduled = true;
    setImmediate(() => {
      this.announceScheduled = false;
      this.host?.changed();
    });
  }

  /** Drained: out of discovery (no answers, a `stopped` announcement); resumed: listed again. */
  setListed(listed: boolean): void {
    this.host?.setListed(listed);
  }

  stop(): void {
    const host = this.host;
    this.host = undefined;
    host?.stop();
  }
}
