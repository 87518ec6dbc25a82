import type { ServiceInfo } from '@openagentio/nestjs';

/** One endpoint's counters as one STATS answer had them. */
export interface CounterReading {
  requests: number;
  errors: number;
  latency: Map<number, number>;
  callers: Map<string, [number, number]>;
}

/** What INFO said of one endpoint. */
export interface EndpointAbout {
  target: string;
  kind: string;
  internal: boolean;
  description?: string;
}

/** One instance as the console follows it: what it serves, when it last answered, and its previous counters. */
export class InstanceCounters {
  readonly endpoints = new Map<string, EndpointAbout>();
  lastSeen = 0;
  /** Drained from the console: kept (to be resumed) though it no longer answers. */
  drained = false;
  /** When the console last drained or resumed it (ms since the epoch). */
  drainedAt = 0;
  private readonly previous = new Map<string, CounterReading>();

  constructor(
    readonly id: string,
    readonly service: string,
    readonly agentId: string,
    readonly version: string,
  ) {}

  /** Requests its targets took, as of its last STATS answer. */
  get requests(): number {
    let n = 0;
    for (const r of this.previous.values()) n += r.requests;
    return n;
  }

  learn(endpoints: ServiceInfo['endpoints']): void {
    this.endpoints.clear();
    for (const ep of endpoints) {
      const m = ep.metadata ?? {};
      const target = m['acp.target'];
      if (!target) continue;
      this.endpoints.set(ep.name, {
        target,
        kind: m['acp.kind'] ?? 'invoke',
        internal: m['acp.internal'] === 'true',
        ...(m['acp.description'] ? { description: m['acp.description'] } : {}),
      });
    }
  }

  /**
   * What changed since the previous reading of this endpoint; undefined the first time (the counters then hold
   * everything since the instance started, which is not one sweep's traffic) and after a counter went back.
   */
  difference(endpoint: string, now: CounterReading): CounterReading | undefined {
    const before = this.previous.get(endpoint);
    this.previous.set(endpoint, now);
    if (!before || now.requests < before.requests) return undefined;
    const latency = new Map<number, number>();
    for (const [b, n] of now.latency) {
      const d = n - (before.latency.get(b) ?? 0);
      if (d > 0) latency.set(b, d);
    }
    const callers = new Map<string, [number, number]>();
    for (const [id, [n, e]] of now.callers) {
      const [n0, e0] = before.callers.get(id) ?? [0, 0];
      if (n > n0) callers.set(id, [n - n0, Math.max(0, e - e0)]);
    }
    return { requests: now.requests - before.requests, errors: Math.max(0, now.errors - before.errors), latency, callers };
  }
}
