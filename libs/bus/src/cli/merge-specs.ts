import type { AgentSpec } from '../security/agent-spec.js';

/** Processes of one agent id (roles, replicas) are one NATS user: their specs are merged (unions; unrestricted wins). */
export function mergeSpecs(specs: readonly AgentSpec[]): AgentSpec[] {
  const byId = new Map<string, AgentSpec>();
  for (const s of specs) {
    const had = byId.get(s.agentId);
    if (!had) {
      byId.set(s.agentId, structuredClone(s));
      continue;
    }
    const union = (a?: string[], b?: string[]) => [...new Set([...(a ?? []), ...(b ?? [])])];
    had.serves = union(had.serves, s.serves);
    had.subscribes = union(had.subscribes, s.subscribes);
    had.calls = had.calls && s.calls ? union(had.calls, s.calls) : undefined;
    had.publishes = had.publishes && s.publishes ? union(had.publishes, s.publishes) : undefined;
    if (s.tasks) had.tasks = { ...had.tasks, ...s.tasks, serves: union(had.tasks?.serves, s.tasks.serves) };
    if (s.discovery !== false && had.discovery === false) had.discovery = s.discovery ?? true;
  }
  return [...byId.values()];
}
