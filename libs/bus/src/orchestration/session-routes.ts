import type { SessionInfo } from '../context/call-context.js';
import type { BusSubscription } from '../interfaces/bus-subscription.interface.js';
import type { Envelope } from '../protocol/envelope.js';
import { MemoryActiveAgentStore, type ActiveAgent, type ActiveAgentStore } from './active-agent-store.js';
import { HANDOFF_EVENT_TYPE, type HandoffEventPayload } from './handoff-event.js';
import type { OrchestrationHost } from './orchestration-host.js';

export interface SessionRoutesOptions {
  /** Default: a MemoryActiveAgentStore of this process. */
  store?: ActiveAgentStore;
  /** How long a session stays with the agent it was handed to (ms). Default 30 minutes. */
  ttlMs?: number;
}

const perBus = new WeakMap<OrchestrationHost, SessionRoutes>();

/**
 * Which agent each session's next turn goes to after a handoff. It follows the handoff events published on the bus
 * (by `bus.handoff` in any process), keyed by tenant and session; an entry point (the gateway's `followHandoffs`, a
 * Matrix room's `respond`, your own route) asks `resolve(target, session)` before calling.
 *
 * A turn addressed to an agent of the last handoff's chain (the triage agent the client always talks to) goes to
 * the agent the session was handed to; a turn to any other target is left alone.
 *
 * @example
 * const routes = SessionRoutes.of(bus);
 * await routes.start();
 * const target = await routes.resolve('triage', { session_id: 's1' }); // 'billing' after triage handed s1 to billing
 */
export class SessionRoutes {
  readonly store: ActiveAgentStore;
  readonly ttlMs: number;
  private sub?: BusSubscription;

  constructor(
    private readonly bus: OrchestrationHost,
    options: SessionRoutesOptions = {},
  ) {
    this.store = options.store ?? new MemoryActiveAgentStore();
    this.ttlMs = options.ttlMs ?? 30 * 60_000;
  }

  /** The routes of a bus (one per bus, made with `options` the first time). */
  static of(bus: OrchestrationHost, options?: SessionRoutesOptions): SessionRoutes {
    let r = perBus.get(bus);
    if (!r) {
      r = new SessionRoutes(bus, options);
      perBus.set(bus, r);
    }
    return r;
  }

  /** Follows handoff events from now on (idempotent); resolves once the subscription is live. */
  start(): Promise<void> {
    this.sub ??= this.bus.subscribe<HandoffEventPayload>(HANDOFF_EVENT_TYPE, (p, env) => this.onHandoff(p, env));
    return this.sub.ready;
  }

  stop(): void {
    this.sub?.unsubscribe();
    this.sub = undefined;
  }

  /** The target a turn of `session` addressed to `target` goes to. */
  async resolve(target: string, session: Readonly<SessionInfo>): Promise<string> {
    const key = sessionKey(session);
    if (!key) return target;
    const active = await this.store.get(key);
    return active && active.agent !== target && active.chain.includes(target) ? active.agent : target;
  }

  /** The session's active agent, if it was handed to one. */
  async active(session: Readonly<SessionInfo>): Promise<ActiveAgent | undefined> {
    const key = sessionKey(session);
    return key ? await this.store.get(key) : undefined;
  }

  /** Sends the session's next turns where they are addressed again. */
  async release(session: Readonly<SessionInfo>): Promise<void> {
    const key = sessionKey(session);
    if (key) await this.store.delete(key);
  }

  /** Records a handoff (what the handoff event does; for handoffs made without the bus). */
  async record(session: Readonly<SessionInfo>, handoff: HandoffEventPayload): Promise<void> {
    const key = sessionKey(session);
    if (!key) return;
    const value: ActiveAgent = { agent: handoff.to, from: handoff.from, chain: handoff.chain.slice(), at: Date.now() };
    if (handoff.reason !== undefined) value.reason = handoff.reason;
    await this.store.set(key, value, this.ttlMs);
  }

  private async onHandoff(p: HandoffEventPayload, env: Envelope): Promise<void> {
    if (!p || typeof p.to !== 'string' || typeof p.from !== 'string' || !Array.isArray(p.chain)) return;
    await this.record({ session_id: env.session_id, tenant_id: env.tenant_id }, p);
  }
}

/** Sessions of different tenants never share a route. */
function sessionKey(s: Readonly<SessionInfo>): string | undefined {
  return s.session_id ? `${s.tenant_id ?? ''}\u0000${s.session_id}` : undefined;
}
