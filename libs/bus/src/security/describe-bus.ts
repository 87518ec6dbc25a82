import type { BusClient } from '../bus/bus-client.js';
import { serviceNameOf } from '../discovery/service-name.js';
import type { AgentSpec } from './agent-spec.js';

/**
 * What a running bus serves, subscribes to and declares (`calls`, `publishes`, `subscribes` options), as an
 * AgentSpec. `tasks`: the `@Task` targets it runs, when it runs TasksModule on JetStream. Discovery counts as on
 * unless the bus was created with `discovery: false` (on the memory transport, where discovery is off by
 * default, it is taken as it would be over NATS).
 */
export function describeBus(bus: BusClient, tasks?: { serves: string[] }): AgentSpec {
  const o = bus.options;
  const transport = bus.transport as { kind: string; inboxPrefix?: string };
  const subscribes = [...new Set([...bus.subscribedPatterns, ...(o.subscribes ?? [])])];
  const serves = [...new Set(bus.served.map((ep) => ep.about.permissionPattern ?? ep.target))];
  const spec: AgentSpec = { agentId: bus.agentId, serves, subscribes };
  if (bus.subjects.prefix !== 'acp.v1') spec.subjectPrefix = bus.subjects.prefix;
  if (o.tenant) spec.tenant = o.tenant;
  if (transport.kind === 'nats' && transport.inboxPrefix && transport.inboxPrefix !== '_INBOX') spec.inboxPrefix = transport.inboxPrefix;
  if (o.calls) spec.calls = [...new Set([...o.calls, ...bus.declaredCalls])];
  if (o.publishes) spec.publishes = [...o.publishes];
  if (o.discovery) {
    if (o.discovery.name !== serviceNameOf(bus.agentId)) spec.discovery = { name: o.discovery.name };
  } else if (transport.kind === 'nats') spec.discovery = false;
  if (tasks) spec.tasks = { serves: [...tasks.serves] };
  if (bus.declaredOperator) spec.operator = true;
  const consumers = bus.durableConsumers;
  if (consumers.length || o.durableEvents?.stream) {
    spec.durableEvents = { consumers };
    if (o.durableEvents?.stream) spec.durableEvents.stream = o.durableEvents.stream;
  }
  return spec;
}
