import { Inject, Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import { BusClient, DiscoveryClient, type ServiceInfo, type ServiceStats } from '@openagentio/nestjs';
import { LATENCY_BUCKETS } from '@openagentio/nestjs/internal/discovery/latency-buckets.js';
import { CONSOLE_OPTIONS, type ResolvedConsoleOptions } from './console.options.js';
import { InstanceCounters, type CounterReading } from './instance-counters.js';
import { TrafficWindow, type TrafficPoint, type TrafficTick } from './traffic-window.js';

/** One agent as the topology shows it: discovery's service with its instances and targets. */
export interface ConsoleAgent {
  agent_id: string;
  service: string;
  instances: Array<{ id: string; version: string; health: 'up' | 'stale' | 'drained'; last_seen: number; requests: number }>;
  targets: Array<{ target: string; kind: string; description?: string }>;
}

/** An observed invocation: caller agent → the agent serving `target`, over the last `EDGE_MS`. */
export interface ConsoleEdge {
  from: string;
  to: string;
  target: string;
  rate: number;
  error_rate: number;
  requests: number;
}

export interface ConsoleTraffic extends TrafficPoint {
  agent_id: string;
  target: string;
  kind: string;
  requests: number;
  series: TrafficPoint[];
}

export interface ConsoleSnapshot {
  at: number;
  refresh_ms: number;
  window_ms: number;
  agents: ConsoleAgent[];
  edges: ConsoleEdge[];
  traffic: ConsoleTraffic[];
}

/** Rates and percentiles of the topology and the traffic table are over this much of the recent past. */
const SUMMARY_MS = 60_000;
/** Edges show their rate over a shorter past, so a call shows up (and goes) within a few sweeps. */
const EDGE_MS = 10_000;

interface Series {
  agentId: string;
  target: string;
  kind: string;
  window: TrafficWindow;
}

/**
 * What the console shows, gathered from the buses themselves: every `refreshMs` one `$SRV.STATS` broadcast (and an
 * INFO sweep when an instance is new, and every tenth time for changed targets), whose counter differences become
 * the traffic series and, by the callers each bus counts per target, the invocation edges. It starts on first use
 * and keeps `windowMs` of history: bounded by the number of targets and caller agents (32 per target).
 */
@Injectable()
export class ConsoleCollector implements OnModuleDestroy {
  private readonly logger = new Logger('Console');
  readonly discovery: DiscoveryClient;
  /** For drain and resume, asked of one instance: as long as a busy process may take to answer. */
  private readonly controlClient: DiscoveryClient;
  private readonly instances = new Map<string, InstanceCounters>();
  private readonly targets = new Map<string, Series>();
  private readonly edges = new Map<string, Series & { from: string }>();
  private readonly listeners = new Set<(s: ConsoleSnapshot) => void>();
  private timer?: NodeJS.Timeout;
  private sweeping?: Promise<void>;
  private sweeps = 0;
  private lastSweep = 0;
  private firstSweep = 0;
  private latest?: ConsoleSnapshot;

  constructor(
    @Inject(BusClient) bus: BusClient,
    @Inject(CONSOLE_OPTIONS) readonly options: ResolvedConsoleOptions,
  ) {
    // A short gap: the answers of one server come within milliseconds, and a sweep should end well inside refreshMs.
    this.discovery = new DiscoveryClient(bus, { gap: 150, timeout: Math.min(1_000, options.refreshMs), deadline: options.refreshMs });
    this.controlClient = new DiscoveryClient(bus, { timeout: 5_000 });
    // Drain, resume and spans are for the operator's console only: its agent's NATS permissions must allow them.
    bus.declare({ operator: true });
  }

  onModuleDestroy(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.listeners.clear();
  }

  /** The newest snapshot; the first call starts collecting and waits for the first sweep. */
  async snapshot(): Promise<ConsoleSnapshot> {
    this.start();
    if (!this.latest) await this.sweep();
    return this.latest!;
  }

  /** Calls `listener` with each new snapshot until the returned function is called. */
  subscribe(listener: (s: ConsoleSnapshot) => void): () => void {
    this.start();
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Drains (or resumes) one instance over the bus (`$SRV.DRAIN|RESUME.<service>.<id>`, docs/discovery.md): it is
   * kept on the topology as drained, with a resume button, though it no longer answers. Undefined: it did not
   * answer (gone, or its bus has `discovery.control` off).
   */
  async control(verb: 'drain' | 'resume', instanceId: string): Promise<{ drained: boolean; inflight: number } | undefined> {
    const inst = this.instances.get(instanceId);
    if (!inst) return undefined;
    const answer =
      verb === 'drain' ? await this.controlClient.drain(inst.service, inst.id) : await this.controlClient.resume(inst.service, inst.id);
    if (!answer) return undefined;
    inst.drained = answer.drained;
    inst.drainedAt = Date.now();
    if (!answer.drained) inst.lastSeen = Date.now();
    void this.sweep();
    return { drained: answer.drained, inflight: answer.inflight };
  }

  private start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.sweep(), this.options.refreshMs);
    this.timer.unref();
    void this.sweep();
  }

  /** One sweep at a time: a slow one is not overtaken by the next. */
  private sweep(): Promise<void> {
    this.sweeping ??= this.sweepOnce()
      .catch((err: unknown) => this.logger.warn(`a sweep failed: ${err instanceof Error ? err.message : String(err)}`))
      .finally(() => (this.sweeping = undefined));
    return this.sweeping;
  }

  private async sweepOnce(): Promise<void> {
    const asked = Date.now();
    const stats = (await this.discovery.stats()).filter((s) => s.metadata['acp.agent_id'] !== undefined);
    const now = Date.now();
    const ms = this.lastSweep > 0 ? now - this.lastSweep : this.options.refreshMs;
    this.lastSweep = now;
    this.firstSweep ||= now - this.options.refreshMs;
    if (this.sweeps++ % 10 === 0 || stats.some((s) => !this.instances.has(s.id))) this.learn(await this.discovery.info());
    const ticks = new Map<string, TrafficTick>();
    const edgeTicks = new Map<string, TrafficTick>();
    const tick = (m: Map<string, TrafficTick>, key: string) => {
      let t = m.get(key);
      if (!t) m.set(key, (t = { at: now, ms, requests: 0, errors: 0, latency: new Map() }));
      return t;
    };
    for (const s of stats) {
      const inst = this.instances.get(s.id);
      if (!inst) continue;
      inst.lastSeen = now;
      // Answering a question asked after it was drained: resumed (elsewhere). An answer to a question asked
      // before the drain says nothing of it.
      if (inst.drained && inst.drainedAt < asked) inst.drained = false;
      for (const ep of s.endpoints) {
        const about = inst.endpoints.get(ep.name);
        if (!about || about.internal) continue;
        const key = `${inst.agentId} ${about.target}`;
        if (!this.targets.has(key))
          this.targets.set(key, { agentId: inst.agentId, target: about.target, kind: about.kind, window: this.window() });
        const d = inst.difference(ep.name, readingOf(ep));
        if (!d) continue;
        const t = tick(ticks, key);
        t.requests += d.requests;
        t.errors += d.errors;
        for (const [b, n] of d.latency) t.latency.set(b, (t.latency.get(b) ?? 0) + n);
        for (const [from, [n, e]] of d.callers) {
          const ekey = `${from} ${key}`;
          if (!this.edges.has(ekey))
            this.edges.set(ekey, { from, agentId: inst.agentId, target: about.target, kind: about.kind, window: this.window() });
          const et = tick(edgeTicks, ekey);
          et.requests += n;
          et.errors += e;
        }
      }
    }
    for (const [key, s] of this.targets) s.window.push(ticks.get(key) ?? { at: now, ms, requests: 0, errors: 0, latency: new Map() });
    for (const [key, s] of this.edges) {
      s.window.push(edgeTicks.get(key) ?? { at: now, ms, requests: 0, errors: 0, latency: new Map() });
      if (s.window.empty) this.edges.delete(key);
    }
    for (const [id, inst] of this.instances)
      if (!inst.drained && now - inst.lastSeen > this.options.forgetAfterMs) this.instances.delete(id);
    this.latest = this.build(now);
    for (const l of this.listeners) l(this.latest);
  }

  /** What INFO says of each instance: its agent, version, and which endpoint name is which target. */
  private learn(infos: ServiceInfo[]): void {
    for (const info of infos) {
      const agentId = info.metadata['acp.agent_id'];
      if (agentId === undefined) continue;
      let inst = this.instances.get(info.id);
      if (!inst) this.instances.set(info.id, (inst = new InstanceCounters(info.id, info.name, agentId, info.version)));
      inst.learn(info.endpoints);
    }
  }

  private window(): TrafficWindow {
    return new TrafficWindow(Math.ceil(this.options.windowMs / this.options.refreshMs));
  }

  private build(now: number): ConsoleSnapshot {
    const agents = new Map<string, ConsoleAgent>();
    for (const inst of this.instances.values()) {
      let a = agents.get(inst.agentId);
      if (!a) agents.set(inst.agentId, (a = { agent_id: inst.agentId, service: inst.service, instances: [], targets: [] }));
      const health = inst.drained ? 'drained' : inst.lastSeen === now ? 'up' : 'stale';
      a.instances.push({ id: inst.id, version: inst.version, health, last_seen: inst.lastSeen, requests: inst.requests });
      for (const ep of inst.endpoints.values()) {
        if (!ep.internal && !a.targets.some((t) => t.target === ep.target))
          a.targets.push({ target: ep.target, kind: ep.kind, ...(ep.description ? { description: ep.description } : {}) });
      }
    }
    const collecting = now - this.firstSweep;
    const edges: ConsoleEdge[] = [...this.edges.values()].map((e) => {
      const s = e.window.summary(now, EDGE_MS, collecting);
      return { from: e.from, to: e.agentId, target: e.target, rate: s.rate, error_rate: s.error_rate, requests: s.requests };
    });
    const traffic: ConsoleTraffic[] = [...this.targets.values()]
      .filter((t) => agents.has(t.agentId))
      .map((t) => ({
        agent_id: t.agentId,
        target: t.target,
        kind: t.kind,
        ...t.window.summary(now, SUMMARY_MS, collecting),
        series: t.window.series(),
      }));
    const byName = (x: { agent_id: string }, y: { agent_id: string }) => (x.agent_id < y.agent_id ? -1 : x.agent_id > y.agent_id ? 1 : 0);
    return {
      at: now,
      refresh_ms: this.options.refreshMs,
      window_ms: this.options.windowMs,
      agents: [...agents.values()].sort(byName),
      edges,
      traffic: traffic.sort((x, y) => byName(x, y) || (x.target < y.target ? -1 : 1)),
    };
  }
}

/** An endpoint's STATS as counters, its `data` read defensively (any service may answer). */
function readingOf(ep: ServiceStats['endpoints'][number]): CounterReading {
  const data = (ep.data ?? {}) as { acp_latency?: unknown; acp_callers?: unknown };
  const latency = new Map<number, number>();
  if (Array.isArray(data.acp_latency)) {
    for (const p of data.acp_latency.slice(0, LATENCY_BUCKETS)) {
      if (Array.isArray(p) && isCount(p[0]) && p[0] < LATENCY_BUCKETS && isCount(p[1])) latency.set(p[0], p[1]);
    }
  }
  const callers = new Map<string, [number, number]>();
  if (data.acp_callers && typeof data.acp_callers === 'object') {
    for (const [id, v] of Object.entries(data.acp_callers).slice(0, 64)) {
      if (Array.isArray(v) && isCount(v[0]) && isCount(v[1])) callers.set(id.slice(0, 128), [v[0], v[1]]);
    }
  }
  return { requests: ep.num_requests, errors: ep.num_errors, latency, callers };
}

function isCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0;
}
