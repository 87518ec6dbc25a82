import type { BusClient, BusSubscription, Envelope } from '@openagentio/nestjs';
import { ReplayBuffer } from './replay-buffer.js';

export interface EventFilter {
  tenant_id?: string;
  session_id?: string;
}

function matches(env: Envelope, f: EventFilter): boolean {
  if (f.tenant_id !== undefined && env.tenant_id !== f.tenant_id) return false;
  if (f.session_id !== undefined && env.session_id !== f.session_id) return false;
  return true;
}

interface Feed {
  pattern: string;
  sub: BusSubscription;
  buffer: ReplayBuffer;
  listeners: Set<(env: Envelope) => void>;
  idleTimer?: NodeJS.Timeout;
}

/**
 * Bus subscriptions shared by the gateway's event-stream clients, one per pattern, each with a bounded replay
 * buffer so a reconnecting EventSource (Last-Event-ID) loses nothing still in the buffer. A feed without
 * clients is kept for `retentionMs` (so reconnects find it), then unsubscribed.
 */
export class EventHub {
  private readonly feeds = new Map<string, Feed>();

  constructor(
    private readonly bus: BusClient,
    private readonly capacity: number,
    private readonly retentionMs: number,
  ) {}

  /** Subscribes (or joins the feed of) `pattern`; replays after `lastEventId` when given. Returns detach. */
  attach(pattern: string, filter: EventFilter, lastEventId: string | undefined, listener: (env: Envelope) => void): () => void {
    const feed = this.feed(pattern);
    if (feed.idleTimer) clearTimeout(feed.idleTimer);
    feed.idleTimer = undefined;
    if (lastEventId) for (const e of feed.buffer.after(lastEventId)) if (matches(e, filter)) listener(e);
    const l = (env: Envelope) => {
      if (matches(env, filter)) listener(env);
    };
    feed.listeners.add(l);
    return () => {
      feed.listeners.delete(l);
      if (feed.listeners.size === 0 && !feed.idleTimer) {
        feed.idleTimer = setTimeout(() => this.drop(pattern), this.retentionMs);
        feed.idleTimer.unref();
      }
    };
  }

  get patterns(): string[] {
    return [...this.feeds.keys()];
  }

  close(): void {
    for (const p of [...this.feeds.keys()]) this.drop(p);
  }

  private feed(pattern: string): Feed {
    let feed = this.feeds.get(pattern);
    if (feed) return feed;
    const buffer = new ReplayBuffer(this.capacity);
    const listeners = new Set<(env: Envelope) => void>();
    const sub = this.bus.subscribe(pattern, (_p, env) => {
      buffer.push(env);
      for (const l of [...listeners]) l(env);
    });
    feed = { pattern, sub, buffer, listeners };
    this.feeds.set(pattern, feed);
    return feed;
  }

  private drop(pattern: string): void {
    const feed = this.feeds.get(pattern);
    if (!feed) return;
    if (feed.idleTimer) clearTimeout(feed.idleTimer);
    try {
      feed.sub.unsubscribe();
    } catch {
      // bus already closed
    }
    this.feeds.delete(pattern);
  }
}

/** Whether every subject `requested` can match is also matched by `allowed` (NATS wildcards `*`, `>`). */
export function patternCovers(allowed: string, requested: string): boolean {
  const a = allowed.split('.');
  const r = requested.split('.');
  for (let i = 0; i < a.length; i++) {
    if (a[i] === '>') return i < r.length; // '>' needs at least one token
    if (i >= r.length) return false;
    if (r[i] === '>') return false; // requested is wider than a non-'>' token
    if (a[i] === '*') continue;
    if (a[i] !== r[i]) return false;
  }
  return a.length === r.length;
}
