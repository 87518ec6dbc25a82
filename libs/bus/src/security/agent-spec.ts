import type { JetStreamTaskNames } from '../tasks/jetstream-names.js';

/**
 * What one agent (one NATS user: every process and replica of that agent id) does on the bus, as its NATS
 * permissions need it. `describeBus()` reads it from a running bus; a JSON file of these (an `AppSpec`) is what
 * `npx openagentio nats-permissions` reads.
 */
export interface AgentSpec {
  agentId: string;
  /** Default `acp.v1`. */
  subjectPrefix?: string;
  tenant?: string;
  /** The inbox prefix its transport uses. Default `_INBOX.<agent token>` (what BusModule sets). */
  inboxPrefix?: string;
  /** Invoke and stream targets it serves. */
  serves?: string[];
  /** Event patterns it subscribes to. */
  subscribes?: string[];
  /** Targets it calls (invoke, stream, task submit), names or NATS patterns. Absent: unrestricted. */
  calls?: string[];
  /** Event types it publishes. Absent: unrestricted. */
  publishes?: string[];
  /**
   * Whether it answers the Services API and announces itself (`true`, the default over NATS), or the ADR-32 name
   * it answers as (default: the agent id with `.` as `_`). `false`: it neither answers nor announces.
   */
  discovery?: boolean | { name?: string };
  /**
   * It uses durable events (docs/events.md): the stream of its log (default `ACP_EVENTS`, `ACP_EVENTS_<tenant>`
   * with a tenant) and the durable consumer names it subscribes with. A TasksModule participant uses them too (a
   * task's end is a durable event). Absent: no JetStream permissions for events.
   */
  durableEvents?: { stream?: string; consumers?: string[] };
  /**
   * It operates the others (the gateway's console): it may drain and resume instances (`$SRV.DRAIN.>`,
   * `$SRV.RESUME.>`) and read recent spans (`$SRV.SPANS`), which every other agent is denied.
   */
  operator?: boolean;
  /** It runs TasksModule on JetStream: `serves` are its `@Task` targets. Absent: no task permissions at all. */
  tasks?: { serves?: string[]; names?: Partial<JetStreamTaskNames> };
}

/** Who may call what, on top of the agents' own `calls` (docs/security.md, "Invocation policy"). */
export interface InvokePolicyRule {
  /** Named in the AUTH_FAILURE of a call it refuses. */
  name: string;
  /** Agent ids (or `*` for every agent) the rule applies to. */
  callers: string[];
  /** Targets (names or patterns) these callers may call; when some rule gives `allow`, nothing else is allowed. */
  allow?: string[];
  /** Targets they may never call (wins over every allow). */
  deny?: string[];
}

/** A whole application over NATS: its agents and its invocation policy. */
export interface AppSpec {
  agents: AgentSpec[];
  policy?: InvokePolicyRule[];
}
