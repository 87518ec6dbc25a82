import type { DirectEndpoint } from '../transport.interface.js';
import { hasWildcard, subjectMatches } from '../../protocol/subject-match.js';

/**
 * A subscription inside the broker. `deliver` receives the receiver's own copy of the envelope (or its JSON
 * text, when the receiving transport validates bodies like a network transport does).
 */
export interface BrokerSubscription {
  readonly id: number;
  readonly subject: string;
  readonly queue?: string;
  readonly owner: object;
  /** Whether this receiver wants JSON text (to decode and validate) rather than an object copy. */
  readonly wantsText: boolean;
  /** Set when the receiver can also take a call without a message (see Transport.routeDirect). */
  readonly direct?: DirectEndpoint<unknown>;
  deliver(subject: string, body: unknown, reply: string | undefined, status?: 'no-responders'): void;
}

/**
 * The in-process "server" that memory transports connect to: NATS routing semantics without a network.
 * Several buses (several Nest apps, or a test's caller and responder) share one broker the way processes
 * share one NATS server. `MemoryBroker.shared()` is the process-wide default.
 */
export class MemoryBroker {
  private static sharedBroker?: MemoryBroker;
  private nextId = 1;
  private readonly exact = new Map<string, BrokerSubscription[]>();
  /** `<prefix>.>` subscriptions (every bus client's reply inbox), by prefix: found without scanning. */
  private readonly prefixed = new Map<string, BrokerSubscription[]>();
  private readonly wildcard: BrokerSubscription[] = [];
  private readonly roundRobin = new Map<string, number>();
  private matchCache = new Map<string, BrokerSubscription[]>();

  static shared(): MemoryBroker {
    return (MemoryBroker.sharedBroker ??= new MemoryBroker());
  }

  newId(): number {
    return this.nextId++;
  }

  add(sub: BrokerSubscription): void {
    const prefix = tailPrefix(sub.subject);
    if (prefix !== undefined) addTo(this.prefixed, prefix, sub);
    else if (hasWildcard(sub.subject)) this.wildcard.push(sub);
    else addTo(this.exact, sub.subject, sub);
    this.matchCache = new Map();
  }

  remove(sub: BrokerSubscription): void {
    const prefix = tailPrefix(sub.subject);
    if (prefix !== undefined) removeFrom(this.prefixed, prefix, sub);
    else if (hasWildcard(sub.subject)) {
      const i = this.wildcard.indexOf(sub);
      if (i >= 0) this.wildcard.splice(i, 1);
    } else removeFrom(this.exact, sub.subject, sub);
    this.matchCache = new Map();
  }

  /** Every subscription that should receive `subject`, with one member picked per queue group. */
  route(subject: string): BrokerSubscription[] {
    const matching = this.matching(subject);
    if (matching.length <= 1) return matching;
    let groups: Map<string, BrokerSubscription[]> | undefined;
    const out: BrokerSubscription[] = [];
    for (const sub of matching) {
      if (sub.queue === undefined) out.push(sub);
      else {
        groups ??= new Map();
        const g = groups.get(sub.queue);
        if (g) g.push(sub);
        else groups.set(sub.queue, [sub]);
      }
    }
    if (groups) {
      for (const [queue, members] of groups) {
        const key = `${queue}\u0000${subject}`;
        const n = this.roundRobin.get(key) ?? 0;
        this.roundRobin.set(key, n + 1);
        out.push(members[n % members.length]);
      }
    }
    return out;
  }

  /**
   * The direct endpoint `route(subject)` would pick, when every matching subscription has one and they form one
   * queue group (or there is only one); `null` when none matches; `undefined` when a message is needed. The
   * queue rotation advances only when an endpoint is returned, so falling back to `route` does not skip a member.
   */
  routeDirect(subject: string): DirectEndpoint<unknown> | null | undefined {
    const matching = this.matching(subject);
    if (matching.length === 0) return null;
    if (matching.length === 1) return matching[0].direct;
    const queue = matching[0].queue;
    if (queue === undefined) return undefined;
    for (const sub of matching) if (!sub.direct || sub.queue !== queue) return undefined;
    return this.route(subject)[0].direct;
  }

  private matching(subject: string): BrokerSubscription[] {
    const cached = this.matchCache.get(subject);
    if (cached) return cached;
    // One source of matches (the common case: a reply inbox, or one exact subject) is returned without a copy.
    const sources: BrokerSubscription[][] = [];
    const exact = this.exact.get(subject);
    if (exact) sources.push(exact);
    if (this.prefixed.size > 0) {
      // `a.b.>` matches `a.b.c…`: look up every proper prefix of the subject.
      for (let i = subject.indexOf('.'); i > 0; i = subject.indexOf('.', i + 1)) {
        const subs = this.prefixed.get(subject.slice(0, i));
        if (subs) sources.push(subs);
      }
    }
    let wild: BrokerSubscription[] | undefined;
    for (const sub of this.wildcard) if (subjectMatches(sub.subject, subject)) (wild ??= []).push(sub);
    if (wild) sources.push(wild);
    const result = sources.length === 0 ? NO_SUBS : sources.length === 1 ? sources[0] : sources.flat();
    // Inbox subjects are unique per call; caching them would only grow the map.
    if (!subject.startsWith('_INBOX.')) {
      if (this.matchCache.size > 10_000) this.matchCache = new Map();
      // The lists behind a single source change with (un)subscribes, which clear the cache anyway; copy to be safe.
      this.matchCache.set(subject, sources.length === 1 ? [...result] : result);
    }
    return result;
  }
}

const NO_SUBS: BrokerSubscription[] = [];

/** For `a.b.>` (no other wildcard), `a.b`; undefined for anything else. */
function tailPrefix(subject: string): string | undefined {
  if (!subject.endsWith('.>')) return undefined;
  const prefix = subject.slice(0, -2);
  return hasWildcard(prefix) || prefix.length === 0 ? undefined : prefix;
}

function addTo(map: Map<string, BrokerSubscription[]>, key: string, sub: BrokerSubscription): void {
  const list = map.get(key);
  if (list) list.push(sub);
  else map.set(key, [sub]);
}

function removeFrom(map: Map<string, BrokerSubscription[]>, key: string, sub: BrokerSubscription): void {
  const list = map.get(key);
  if (!list) return;
  const i = list.indexOf(sub);
  if (i >= 0) list.splice(i, 1);
  if (list.length === 0) map.delete(key);
}
