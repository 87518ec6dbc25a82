/** One NATS user's permissions, in nats-server's configuration shape. */
export interface NatsPermissions {
  publish: { allow: string[]; deny?: string[] };
  subscribe: { allow: string[]; deny?: string[] };
}

/** The generated permissions of one agent, with the names of the rules behind its denials. */
export interface AgentPermissions {
  agentId: string;
  /** The NATS user name (the agent id). */
  user: string;
  inboxPrefix: string;
  permissions: NatsPermissions;
  /** For the transport's `permissionRules`: a denial on these subjects names the rule. */
  rules: Array<{ operation: 'publish' | 'subscribe'; subject: string; rule: string }>;
  /** Lines saying what is unrestricted and why, for the printed configuration. */
  notes: string[];
}
