/**
 * The inbox prefix of an agent: `_INBOX.<token>`, the token being the agent id with every character outside
 * `[A-Za-z0-9_-]` replaced by `_` (so `billing.invoices` is `_INBOX.billing_invoices`, one token: an agent `billing`
 * allowed `_INBOX.billing.>` must not cover it). Its NATS user alone may subscribe below it.
 */
export function agentInboxPrefix(agentId: string): string {
  return `_INBOX.${agentInboxToken(agentId)}`;
}

/** The one subject token of an agent's inbox prefix. */
export function agentInboxToken(agentId: string): string {
  return agentId.replace(/[^A-Za-z0-9_-]/g, '_');
}
