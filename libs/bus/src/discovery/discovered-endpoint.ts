import { EndpointMetaKeys, ServiceMetaKeys } from './endpoint-metadata.js';
import type { ServiceEndpointInfo, ServiceInfo } from './micro-types.js';

/** One target as one service instance serves it, read back from its INFO. */
export interface DiscoveredEndpoint {
  /** The bus target (`worker.summarize`). */
  target: string;
  kind: 'invoke' | 'stream';
  /** The exact subject and queue group the responder is subscribed on. */
  subject: string;
  queue: string;
  /** The ADR-32 endpoint name (`worker_summarize`). */
  endpoint: string;
  tenant?: string;
  description?: string;
  tags: string[];
  /** The payload's JSON Schema, when the handler has one (given, or from its DTO). */
  inputSchema?: Record<string, unknown>;
  /** Another component's plumbing (`gateway.peer.*`), not for users. */
  internal: boolean;
  /** The ADR-32 service (`worker`), the agent id it stands for, and the instance. */
  service: string;
  agentId: string;
  instanceId: string;
  version: string;
}

/**
 * The bus targets in an INFO response: endpoints with our metadata (`acp.target`, `acp.kind`). Endpoints of other
 * ADR-32 services (no `acp.target`) are not bus targets and are left out.
 */
export function endpointsOf(info: ServiceInfo): DiscoveredEndpoint[] {
  const out: DiscoveredEndpoint[] = [];
  for (const ep of info.endpoints ?? []) {
    const d = decodeEndpoint(info, ep);
    if (d) out.push(d);
  }
  return out;
}

function decodeEndpoint(info: ServiceInfo, ep: ServiceEndpointInfo): DiscoveredEndpoint | undefined {
  const m = ep.metadata ?? {};
  const target = m[EndpointMetaKeys.TARGET];
  const kind = m[EndpointMetaKeys.KIND];
  if (!target || (kind !== 'invoke' && kind !== 'stream')) return undefined;
  const d: DiscoveredEndpoint = {
    target,
    kind,
    subject: ep.subject,
    queue: ep.queue_group ?? '',
    endpoint: ep.name,
    tags: m[EndpointMetaKeys.TAGS] ? m[EndpointMetaKeys.TAGS].split(',') : [],
    internal: m[EndpointMetaKeys.INTERNAL] === 'true',
    service: info.name,
    agentId: info.metadata?.[ServiceMetaKeys.AGENT_ID] ?? info.name,
    instanceId: info.id,
    version: info.version,
  };
  if (m[EndpointMetaKeys.TENANT]) d.tenant = m[EndpointMetaKeys.TENANT];
  if (m[EndpointMetaKeys.DESCRIPTION]) d.description = m[EndpointMetaKeys.DESCRIPTION];
  const schema = m[EndpointMetaKeys.INPUT_SCHEMA];
  if (schema) {
    try {
      const parsed: unknown = JSON.parse(schema);
      if (parsed && typeof parsed === 'object') d.inputSchema = parsed as Record<string, unknown>;
    } catch {
      // a peer's unreadable schema: shown without one
    }
  }
  return d;
}
