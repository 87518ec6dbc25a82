import { BusError } from '../errors/bus-error.js';
import { ErrorCodes } from '../errors/error-codes.js';
import type { BusLogger } from '../runtime/bus-logger.js';
import { MemoryTransport } from '../transport/memory/memory-transport.js';
import type { Transport } from '../transport/transport.interface.js';
import type { DiscoveryBackend } from './discovery-backend.js';
import { DiscoveryWatch, type DiscoveryEvent, type DiscoveryWatchOptions } from './discovery-watch.js';
import { endpointsOf, type DiscoveredEndpoint } from './discovered-endpoint.js';
import { ServiceMetaKeys } from './endpoint-metadata.js';
import type { DrainResponse } from './drain-control.js';
import type { RecentSpan, SpanQuery } from '../observability/span-ring.js';
import { MemoryDiscoveryBackend } from './memory-discovery-backend.js';
import { MemoryDiscoveryRegistry } from './memory-discovery-registry.js';
import { MicroAnswerCheck } from './micro-answer-check.js';
import { ServiceResponseTypes, type ServiceInfo, type ServicePing, type ServiceStats, type ServiceVerb } from './micro-types.js';
import { NatsDiscoveryBackend } from './nats-discovery-backend.js';
import { rawNatsOf } from './raw-nats.js';
import { serviceNameOf } from './service-name.js';

export interface DiscoveryClientOptions {
  /** How long to wait for the first answer (ms). Default 2 000. */
  timeout?: number;
  /** After an answer, how long to wait for another before the list is complete (ms; NATS only). Default 250. */
  gap?: number;
  /**
   * The longest any one question takes, however answers keep coming (ms; NATS only): then it ends with those it
   * has. Default 5 000.
   */
  deadline?: number;
  /** The most answers one question keeps; it ends when it has them (NATS only). Default 1 000. */
  maxAnswers?: number;
}

/** What DiscoveryClient needs of a bus: its transport and subject prefix (a BusClient is one). */
export interface DiscoveryClientBus {
  readonly transport: Transport;
  readonly subjects: { readonly prefix: string };
  /** Where malformed answers are reported (once per service id); none: they are skipped silently. */
  readonly logger?: BusLogger;
}

/** One agent (an ADR-32 service) and its instances (one per process). */
export interface DiscoveredAgent {
  /** The ADR-32 service name. */
  name: string;
  agentId: string;
  instances: ServiceInfo[];
}

/** A target with every instance that serves it (`instances`: instance ids). */
export type DiscoveredTarget = Omit<DiscoveredEndpoint, 'instanceId'> & { instances: string[] };

/**
 * Which agents and targets exist, where, and how they are doing, on either transport: over NATS the Services API
 * (ADR-32; the same answers `nats micro` gets, from every ADR-32 service on the server, ours and others), in memory
 * the broker's registry. Names may be given as service names or agent ids (`billing.invoices` is asked as
 * `billing_invoices`). In Nest, BusModule provides one.
 *
 * @example
 * const discovery = new DiscoveryClient(bus);
 * const agents = await discovery.list();                 // [{ name: 'worker', agentId: 'worker', instances: [...] }]
 * const [stats] = await discovery.stats('worker', id);   // io.nats.micro.v1.stats_response of one instance
 * const watch = discovery.watch((e) => console.log(e.type, e.endpoint.target));
 */
export class DiscoveryClient {
  private readonly timeout: number;
  private readonly gap: number;
  private readonly deadline: number;
  private readonly maxAnswers: number;
  private backendOf?: DiscoveryBackend;

  constructor(
    private readonly bus: DiscoveryClientBus,
    options: DiscoveryClientOptions = {},
  ) {
    this.timeout = options.timeout ?? 2_000;
    this.gap = options.gap ?? 250;
    this.deadline = options.deadline ?? 5_000;
    this.maxAnswers = options.maxAnswers ?? 1_000;
  }

  /** `$SRV.PING[.<name>[.<id>]]`: who is there. */
  async ping(name?: string, id?: string): Promise<ServicePing[]> {
    return this.ask<ServicePing>('PING', ServiceResponseTypes.PING, name, id);
  }

  /** `$SRV.INFO[.<name>[.<id>]]`: each instance with its endpoints (subject, queue group, metadata). */
  async info(name?: string, id?: string): Promise<ServiceInfo[]> {
    return this.ask<ServiceInfo>('INFO', ServiceResponseTypes.INFO, name, id);
  }

  /** `$SRV.STATS[.<name>[.<id>]]`: each instance's per-endpoint requests, errors, last error, processing time (ns). */
  async stats(name?: string, id?: string): Promise<ServiceStats[]> {
    return this.ask<ServiceStats>('STATS', ServiceResponseTypes.STATS, name, id);
  }

  /**
   * Drains one instance (docs/discovery.md, "Drain"): it stops taking new calls and tasks, finishes what it has and
   * leaves discovery. Resolves with its answer, or undefined when it did not answer (gone, or its
   * `discovery.control` is off). `resume` brings it back.
   */
  drain(name: string, id: string): Promise<DrainResponse | undefined> {
    return this.backend().control('DRAIN', serviceNameOf(name), id);
  }

  resume(name: string, id: string): Promise<DrainResponse | undefined> {
    return this.backend().control('RESUME', serviceNameOf(name), id);
  }

  /**
   * The recent spans of every process that keeps a SpanRing (observability/span-ring.ts), gathered over the bus
   * (`$SRV.SPANS`, answered by each bus of such a process), repeats dropped, oldest first.
   */
  async spans(query: SpanQuery = {}): Promise<RecentSpan[]> {
    const seen = new Map<string, RecentSpan>();
    for (const answer of await this.backend().spans(query)) {
      for (const s of answer.spans)
        if (s && typeof s.span_id === 'string' && !seen.has(s.span_id)) seen.set(s.span_id, { ...s, agent: answer.name });
    }
    return [...seen.values()].sort((a, b) => a.start - b.start);
  }

  /** Every service with its instances, by name. */
  async list(): Promise<DiscoveredAgent[]> {
    const byName = new Map<string, DiscoveredAgent>();
    for (const info of await this.info()) {
      let agent = byName.get(info.name);
      if (!agent) {
        agent = { name: info.name, agentId: info.metadata?.[ServiceMetaKeys.AGENT_ID] ?? info.name, instances: [] };
        byName.set(info.name, agent);
      }
      agent.instances.push(info);
    }
    return [...byName.values()];
  }

  /** Every bus target, once per agent that serves it, with the instances that do. */
  async targets(): Promise<DiscoveredTarget[]> {
    return mergeInstances((await this.info()).flatMap(endpointsOf));
  }

  /** Reports targets coming and going (see DiscoveryWatch); `stop()` it when done. */
  watch(listener: (event: DiscoveryEvent) => void, options?: DiscoveryWatchOptions): DiscoveryWatch {
    return new DiscoveryWatch(this.backend(), listener, options);
  }

  private async ask<T extends { type: string; name: string; id: string }>(
    verb: ServiceVerb,
    type: string,
    name?: string,
    id?: string,
  ): Promise<T[]> {
    const answers = await this.backend().query(verb, name ? serviceNameOf(name) : undefined, name ? id : undefined);
    // The NATS backend keeps only answers that match their schema (anyone can publish to a reply subject).
    const ok = answers.filter((a): a is T => (a as T | undefined)?.type === type);
    return ok.sort((a, b) => (a.name === b.name ? (a.id < b.id ? -1 : 1) : a.name < b.name ? -1 : 1));
  }

  private backend(): DiscoveryBackend {
    if (this.backendOf) return this.backendOf;
    const { transport } = this.bus;
    const nc = rawNatsOf(transport);
    if (nc) {
      const limits = { timeout: this.timeout, gap: this.gap, deadline: this.deadline, maxAnswers: this.maxAnswers };
      const check = new MicroAnswerCheck(this.bus.logger);
      return (this.backendOf = new NatsDiscoveryBackend(nc, this.bus.subjects.prefix, () => transport.newInbox(), limits, check));
    }
    if (transport instanceof MemoryTransport)
      return (this.backendOf = new MemoryDiscoveryBackend(MemoryDiscoveryRegistry.of(transport.broker)));
    throw new BusError(
      ErrorCodes.TRANSPORT_FAILURE,
      `discovery needs a connected NATS or memory transport; this bus has a ${transport.status} ${transport.kind} transport`,
    );
  }
}

/** The endpoints of every instance, one entry per agent and subject with the instance ids that serve it. */
export function mergeInstances(endpoints: DiscoveredEndpoint[]): DiscoveredTarget[] {
  const merged = new Map<string, DiscoveredTarget>();
  for (const { instanceId, ...ep } of endpoints) {
    const key = `${ep.service} ${ep.subject}`;
    const t = merged.get(key);
    if (t) t.instances.push(instanceId);
    else merged.set(key, { ...ep, instances: [instanceId] });
  }
  return [...merged.values()];
}
