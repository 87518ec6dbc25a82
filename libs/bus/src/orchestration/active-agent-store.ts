/** The agent a session was last handed to, as SessionRoutes keeps it. */
export interface ActiveAgent {
  /** The target the session's turns go to now. */
  agent: string;
  /** Who handed it over. */
  from: string;
  /** The chain of that handoff: a turn addressed to any of these goes to `agent`. */
  chain: string[];
  reason?: string;
  /** When (epoch ms). */
  at: number;
}

/**
 * Where SessionRoutes keeps each session's active agent. The default, MemoryActiveAgentStore, is per process: each
 * gateway replica fills its own from the handoff events it receives, so replicas agree for every handoff made
 * while they run, but one started later, or restarted, knows nothing of earlier ones. A shared store (a database,
 * a NATS KV bucket) lifts that limit: implement these three methods.
 */
export interface ActiveAgentStore {
  get(key: string): ActiveAgent | undefined | Promise<ActiveAgent | undefined>;
  set(key: string, value: ActiveAgent, ttlMs: number): void | Promise<void>;
  delete(key: string): void | Promise<void>;
}

/** Sessions' active agents in this process's memory, each for its TTL, the newest `maxEntries` at most. */
export class MemoryActiveAgentStore implements ActiveAgentStore {
  private readonly entries = new Map<string, { value: ActiveAgent; expires: number }>();

  constructor(private readonly maxEntries = 10_000) {}

  get(key: string): ActiveAgent | undefined {
    const e = this.entries.get(key);
    if (!e) return undefined;
    if (e.expires <= Date.now()) {
      this.entries.delete(key);
      return undefined;
    }
    return e.value;
  }

  set(key: string, value: ActiveAgent, ttlMs: number): void {
    // Re-inserted so that the map's order is the order of last use, oldest first: the first key is evicted first.
    this.entries.delete(key);
    this.entries.set(key, { value, expires: Date.now() + ttlMs });
    while (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
  }

  delete(key: string): void {
    this.entries.delete(key);
  }

  get size(): number {
    return this.entries.size;
  }
}
