import type { AgentSpec, InvokePolicyRule } from './agent-spec.js';

/** The targets one agent may call and may never call, and why: its `calls` under the app's invocation policy. */
export interface EffectiveCalls {
  /** Patterns it may call (`['>']`: every target). */
  allow: string[];
  /** Patterns it may never call, each with the rule that says so. */
  deny: Array<{ pattern: string; rule: string }>;
  /** Why `allow` is what it is (for the AUTH_FAILURE of a call outside it). */
  because: string;
}

/**
 * A policy rule's `allow` replaces the agent's own `calls` (several rules: their union); without one, `calls`
 * holds, and without that, every target. Denials of every rule that names the agent (or `*`) come on top and win.
 */
export function effectiveCalls(agent: AgentSpec, policy: readonly InvokePolicyRule[] = []): EffectiveCalls {
  const rules = policy.filter((r) => r.callers.includes(agent.agentId) || r.callers.includes('*'));
  const allowing = rules.filter((r) => r.allow !== undefined);
  let allow: string[];
  let because: string;
  if (allowing.length > 0) {
    allow = [...new Set(allowing.flatMap((r) => r.allow!))];
    because = `invoke policy ${allowing.map((r) => `rule "${r.name}"`).join(', ')} lets agent "${agent.agentId}" call only ${list(allow)}`;
  } else if (agent.calls !== undefined) {
    allow = [...agent.calls];
    because = `agent "${agent.agentId}" declares calls ${list(allow)} and nothing else`;
  } else {
    allow = ['>'];
    because = `agent "${agent.agentId}" declares no calls (unrestricted)`;
  }
  const deny = rules.flatMap((r) =>
    (r.deny ?? []).map((pattern) => ({
      pattern,
      rule: `invoke policy rule "${r.name}" denies agent "${agent.agentId}" calls to ${pattern}`,
    })),
  );
  return { allow, deny, because };
}

function list(patterns: readonly string[]): string {
  return patterns.length === 0 ? '(none)' : patterns.join(', ');
}
