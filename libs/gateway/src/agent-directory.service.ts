import { Inject, Injectable, Optional, type OnModuleDestroy } from '@nestjs/common';
import { BusClient } from '@openagentio/nestjs';
import type { ServerResponse } from 'node:http';
import { buildAgentCard, type A2aAgentCard } from './agent-card.js';
import { A2aJsonRpcService } from './a2a-jsonrpc.service.js';
import type { GatewayRequest } from './gateway-auth.js';
import { GatewayService } from './gateway.service.js';
import { GatewayDirectory, type ExposedTarget } from './exposed-targets.js';

/** One agent in `GET /v1/agents`: the targets of it that the gateway exposes. */
export interface GatewayAgentListing {
  agent_id: string;
  /** Its ADR-32 service name (`nats micro info <service>`). */
  service: string;
  instances: string[];
  targets: Array<{
    name: string;
    kind: 'invoke' | 'stream';
    description?: string;
    tags: string[];
    input_schema?: Record<string, unknown>;
    invoke?: string;
    stream?: string;
  }>;
}

/**
 * What the gateway tells about the agents behind it: the A2A agent card (`/.well-known/agent-card.json`) and
 * `GET /v1/agents`, both listing only the targets it exposes (see GatewayDirectory), as discovery finds them.
 */
@Injectable()
export class AgentDirectoryService implements OnModuleDestroy {
  readonly directory: GatewayDirectory;

  constructor(
    private readonly gateway: GatewayService,
    @Inject(BusClient) private readonly bus: BusClient,
    @Optional() @Inject(A2aJsonRpcService) private readonly a2a?: A2aJsonRpcService,
  ) {
    this.directory = new GatewayDirectory(bus, gateway.options.invokeTargets, gateway.options.streamTargets);
  }

  onModuleDestroy(): void {
    this.directory.stop();
  }

  /** The agent card, its URLs on `baseUrl` (agentCard.url, or the request's own origin). */
  async agentCard(req: GatewayRequest): Promise<A2aAgentCard> {
    const o = this.gateway.options.agentCard ?? {};
    const baseUrl = o.url ?? originOf(req);
    const card = buildAgentCard(await this.directory.exposed(), { ...o, name: o.name ?? this.bus.agentId, baseUrl });
    // With the gateway's `a2a` option: its A2A JSON-RPC interface and task targets (a2a-jsonrpc.service.ts).
    this.a2a?.describe(card, baseUrl);
    return card;
  }

  /** The exposed targets grouped by agent. */
  async agents(): Promise<GatewayAgentListing[]> {
    const byAgent = new Map<string, GatewayAgentListing>();
    for (const t of await this.directory.exposed()) {
      let a = byAgent.get(t.agentId);
      if (!a) byAgent.set(t.agentId, (a = { agent_id: t.agentId, service: t.service, instances: [], targets: [] }));
      for (const id of t.instances) if (!a.instances.includes(id)) a.instances.push(id);
      a.targets.push(listing(t));
    }
    return [...byAgent.values()];
  }

  json(res: ServerResponse, body: unknown): void {
    const text = JSON.stringify(body);
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  }
}

function listing(t: ExposedTarget): GatewayAgentListing['targets'][number] {
  const out: GatewayAgentListing['targets'][number] = { name: t.target, kind: t.kind, tags: t.tags };
  if (t.description) out.description = t.description;
  if (t.inputSchema) out.input_schema = t.inputSchema;
  if (t.invoke) out.invoke = t.invoke;
  if (t.stream) out.stream = t.stream;
  return out;
}

/** `http://host[:port]` of a request (behind a proxy, set agentCard.url instead: forwarded headers are not trusted). */
function originOf(req: GatewayRequest): string {
  const secure = (req.socket as { encrypted?: boolean } | undefined)?.encrypted === true;
  return `${secure ? 'https' : 'http'}://${req.headers.host ?? 'localhost'}`;
}
