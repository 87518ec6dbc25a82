import type { ResolvedDiscoveryOptions } from '../interfaces/discovery-options.interface.js';
import { endpointMetadata } from './endpoint-metadata.js';
import {
  ServiceResponseTypes,
  type ServiceEndpointInfo,
  type ServiceEndpointStats,
  type ServiceInfo,
  type ServicePing,
  type ServiceStats,
} from './micro-types.js';
import type { ServedEndpoint } from './served-endpoint.js';
import { serviceNameOf } from './service-name.js';

/**
 * One bus as an ADR-32 service instance: builds its PING, INFO and STATS responses from the responder's own
 * registrations and counters (read when asked, so targets a bridge adds or removes at run time are there or gone
 * at once, and nothing is copied per request). The transport-specific part (answering `$SRV.*` on NATS, the
 * broker's registry in memory) is a ServiceHost.
 */
export class LocalService {
  readonly name: string;
  readonly id: string;
  readonly version: string;
  readonly description: string;
  readonly metadata: Record<string, string>;
  /** RFC 3339, when the bus connected. */
  readonly started = new Date().toISOString();
  /** Endpoint info per registration: metadata (and a DTO's schema) is worked out once per registration. */
  private readonly infoOf = new WeakMap<ServedEndpoint, ServiceEndpointInfo>();
  /** Endpoint names in use, by registration: ADR-32 names must be unique, and two targets can map to one. */
  private readonly names = new WeakMap<ServedEndpoint, string>();

  constructor(
    options: ResolvedDiscoveryOptions,
    private readonly endpoints: () => Iterable<ServedEndpoint>,
    private readonly tenant: string | undefined,
  ) {
    this.name = options.name;
    this.id = options.id;
    this.version = options.version;
    this.description = options.description;
    this.metadata = options.metadata;
  }

  ping(): ServicePing {
    return { type: ServiceResponseTypes.PING, name: this.name, id: this.id, version: this.version, metadata: this.metadata };
  }

  info(): ServiceInfo {
    const endpoints: ServiceEndpointInfo[] = [];
    for (const ep of this.named()) {
      let info = this.infoOf.get(ep);
      if (!info) {
        info = { name: this.names.get(ep)!, subject: ep.subject, queue_group: ep.queue, metadata: endpointMetadata(ep, this.tenant) };
        this.infoOf.set(ep, info);
      }
      endpoints.push(info);
    }
    return {
      type: ServiceResponseTypes.INFO,
      name: this.name,
      id: this.id,
      version: this.version,
      description: this.description,
      metadata: this.metadata,
      endpoints,
    };
  }

  stats(): ServiceStats {
    const endpoints: ServiceEndpointStats[] = [];
    for (const ep of this.named()) {
      const c = ep.counters;
      const processing = c ? Math.round(c.processingMs * 1e6) : 0;
      const requests = c?.requests ?? 0;
      endpoints.push({
        name: this.names.get(ep)!,
        subject: ep.subject,
        queue_group: ep.queue,
        num_requests: requests,
        num_errors: c?.errors ?? 0,
        last_error: c?.lastError ?? '',
        processing_time: processing,
        average_processing_time: requests > 0 ? Math.round(processing / requests) : 0,
        data: c ? c.data() : {},
      });
    }
    return {
      type: ServiceResponseTypes.STATS,
      name: this.name,
      id: this.id,
      version: this.version,
      metadata: this.metadata,
      started: this.started,
      endpoints,
    };
  }

  /** The endpoints in registration order, each with a unique ADR-32 name (`a.b` → `a_b`, then `a_b_2` on a clash). */
  private named(): ServedEndpoint[] {
    const list = [...this.endpoints()];
    const taken = new Set<string>();
    for (const ep of list) {
      const name = this.names.get(ep);
      if (name !== undefined && !taken.has(name)) taken.add(name);
      else this.names.delete(ep);
    }
    for (const ep of list) {
      if (this.names.has(ep)) continue;
      const base = serviceNameOf(ep.target);
      let name = base;
      for (let n = 2; taken.has(name); n++) name = `${base}_${n}`;
      taken.add(name);
      this.names.set(ep, name);
      this.infoOf.delete(ep);
    }
    return list;
  }
}
