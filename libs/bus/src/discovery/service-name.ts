/** What ADR-32 allows in a service or endpoint name. */
export const SERVICE_NAME = /^[A-Za-z0-9_-]+$/;

/**
 * An agent id or target as an ADR-32 service or endpoint name: every character outside `[A-Za-z0-9_-]` (in practice
 * the dots of `billing.invoices`) becomes `_`. Not reversible (`a.b` and `a_b` meet), which is why the exact agent
 * id and target travel in the metadata (`acp.agent_id`, `acp.target`) and the exact subject in the endpoint.
 *
 * @example
 * serviceNameOf('billing.invoices'); // 'billing_invoices'
 * serviceNameOf('writer');           // 'writer'
 */
export function serviceNameOf(name: string): string {
  return name.replace(/[^A-Za-z0-9_-]/g, '_');
}

/** Semantic versions as ADR-32 (and natscli's schema) accept them. */
export const SEMVER =
  /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$/;
