/**
 * How a bus describes itself to the NATS Services API (ADR-32: `$SRV.PING|INFO|STATS`) and to `DiscoveryClient`.
 * `BusClientOptions.discovery` takes these, or `true`/`false`.
 *
 * @example
 * BusModule.forRoot({ agentId: 'billing.invoices', discovery: { version: '1.4.0', description: 'Invoices agent' } });
 * // `nats micro info billing_invoices` lists its targets with their subjects and queue groups
 */
export interface DiscoveryOptions {
  /** Answer the Services API and count per-target statistics. Default true (see docs/discovery.md). */
  enabled?: boolean;
  /**
   * The ADR-32 service name, `^[A-Za-z0-9_-]+$`. Default: the agent id with every other character (the dots)
   * replaced by `_` (`billing.invoices` → `billing_invoices`); the agent id itself is in the `acp.agent_id` metadata.
   */
  name?: string;
  /** Semantic version of this service (ADR-32 requires one). Default `0.0.0`. */
  version?: string;
  /** What this agent does (INFO `description`, `nats micro ls`). Default: `acp/1.0 agent <agent id>`. */
  description?: string;
  /** Extra service metadata (string values). Keys beginning `acp.` are ours and win. */
  metadata?: Record<string, string>;
  /** The instance id (unique per process; `$SRV.PING.<name>.<id>`). Default: 22 random alphanumeric characters. */
  id?: string;
  /**
   * Answer `$SRV.DRAIN.<name>.<id>` and `$SRV.RESUME.<name>.<id>` (`DiscoveryClient.drain`/`resume`, the console's
   * drain button): anyone allowed to publish there can drain this instance, so restrict them with NATS permissions.
   * Default false (`bus.drain()` in the process works either way).
   */
  control?: boolean;
}

/** DiscoveryOptions with every default applied (`bus.options.discovery`); absent when discovery is off. */
export interface ResolvedDiscoveryOptions {
  name: string;
  version: string;
  description: string;
  metadata: Record<string, string>;
  id: string;
  /** Answer DRAIN and RESUME (absent: false). */
  control?: boolean;
}
