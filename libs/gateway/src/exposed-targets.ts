import { type BusClient, type DiscoveredEndpoint, DiscoveryClient, type DiscoveryWatch } from '@openagentio/nestjs';
import { mergeInstances } from '@openagentio/nestjs/internal/discovery/discovery-client.js';
import { serviceNameOf } from '@openagentio/nestjs/internal/discovery/service-name.js';
import { subjectMatches } from '@openagentio/nestjs/internal/protocol/subject-match.js';

/** A target the gateway lets callers reach, as its agent card and `GET /v1/agents` show it. */
export interface ExposedTarget {
  target: string;
  kind: 'invoke' | 'stream';
  agentId: string;
  service: string;
  description?: string;
  tags: string[];
  inputSchema?: Record<string, unknown>;
  /** Instance ids serving it (empty for one this gateway's own bus serves without discovery). */
  instances: string[];
  /** Gateway paths that call it, when exposed that way (`/v1/agents/{t}/invoke`, `/v1/agents/{t}/stream`). */
  invoke?: string;
  stream?: string;
}

/**
 * Which targets exist behind the gateway and which of them it exposes. A discovery watch (started on first use,
 * kept current by announcements) finds the targets served anywhere on the bus; those served by the gateway's own
 * bus are added even when its discovery is off. A target is exposed when the gateway's invokeTargets or
 * streamTargets cover it, it is not internal, and it lives on the gateway bus's subjects (prefix and tenant).
 */
export class GatewayDirectory {
  private watch?: DiscoveryWatch;

  constructor(
    private readonly bus: BusClient,
    private readonly invokeTargets: string[],
    private readonly streamTargets: string[],
  ) {}

  /** The exposed targets, sorted by name. */
  async exposed(): Promise<ExposedTarget[]> {
    const endpoints = await this.endpoints();
    const out: ExposedTarget[] = [];
    for (const t of mergeInstances(endpoints)) {
      if (t.internal || t.subject !== this.bus.subjects.invoke(t.target)) continue;
      const invoke = covers(this.invokeTargets, t.target);
      const stream = covers(this.streamTargets, t.target);
      if (!invoke && !stream) continue;
      const path = `/v1/agents/${encodeURIComponent(t.target)}`;
      const e: ExposedTarget = {
        target: t.target,
        kind: t.kind,
        agentId: t.agentId,
        service: t.service,
        tags: t.tags,
        instances: t.instances.filter(Boolean),
      };
      if (t.description) e.description = t.description;
      if (t.inputSchema) e.inputSchema = t.inputSchema;
      if (invoke) e.invoke = `${path}/invoke`;
      if (stream) e.stream = `${path}/stream`;
      out.push(e);
    }
    // One entry per target: the same target served by two agents is one thing to call.
    const byTarget = new Map<string, ExposedTarget>();
    for (const e of out) {
      const seen = byTarget.get(e.target);
      if (seen) seen.instances.push(...e.instances);
      else byTarget.set(e.target, e);
    }
    return [...byTarget.values()].sort((a, b) => (a.target < b.target ? -1 : 1));
  }

  stop(): void {
    this.watch?.stop();
    this.watch = undefined;
  }

  private async endpoints(): Promise<DiscoveredEndpoint[]> {
    const found: DiscoveredEndpoint[] = [];
    try {
      this.watch ??= new DiscoveryClient(this.bus).watch(() => undefined);
      await this.watch.ready;
      found.push(...this.watch.snapshot());
    } catch (err) {
      // No discovery on this transport, or the sweep failed: what the gateway's own bus serves is still known.
      this.watch?.stop();
      this.watch = undefined;
      this.bus.logger.debug?.(`gateway: discovery unavailable (${(err as Error).message}); listing this bus's own targets`);
    }
    const own = this.bus.service;
    const listed = new Set(found.map((e) => e.subject));
    for (const r of this.bus.served) {
      if (listed.has(r.subject)) continue;
      const schema = typeof r.about.inputSchema === 'function' ? r.about.inputSchema() : r.about.inputSchema;
      found.push({
        target: r.target,
        kind: r.kind,
        subject: r.subject,
        queue: r.queue,
        endpoint: serviceNameOf(r.target),
        tags: r.about.tags ?? [],
        internal: r.about.internal === true,
        description: r.about.description,
        inputSchema: schema,
        service: own?.name ?? this.bus.agentId,
        agentId: this.bus.agentId,
        instanceId: own?.id ?? '',
        version: own?.version ?? '',
      });
    }
    return found;
  }
}

function covers(patterns: string[], target: string): boolean {
  return patterns.some((p) => p === target || subjectMatches(p, target));
}
