import type { Envelope } from '@openagentio/nestjs';

/** A bounded buffer of recent frames/events for Last-Event-ID resumption. */
export class ReplayBuffer {
  private items: Envelope[] = [];
  private sizes: number[] = [];
  /** Estimated bytes held. */
  bytes = 0;
  /** Items dropped from the front because the buffer was full. */
  dropped = 0;

  constructor(
    readonly capacity: number,
    /** Estimated bytes held at most (the newest item is always kept). */
    readonly maxBytes = Infinity,
  ) {}

  push(env: Envelope): void {
    const size = sizeOf(env);
    this.items.push(env);
    this.sizes.push(size);
    this.bytes += size;
    let n = 0;
    while (this.items.length - n > 1 && (this.items.length - n > this.capacity || this.bytes > this.maxBytes)) {
      this.bytes -= this.sizes[n];
      n++;
    }
    if (n > 0) {
      this.items.splice(0, n);
      this.sizes.splice(0, n);
      this.dropped += n;
    }
  }

  get size(): number {
    return this.items.length;
  }

  has(eventId: string): boolean {
    return this.items.some((e) => e.event_id === eventId);
  }

  all(): Envelope[] {
    return [...this.items];
  }

  /**
   * What a client that last saw `lastEventId` has missed: the items after it; when the id is no longer (or
   * never was) in the buffer, the items with a later UUIDv7 event_id (v7 ids sort by time).
   */
  after(lastEventId: string | undefined): Envelope[] {
    if (!lastEventId) return this.all();
    const i = this.items.findIndex((e) => e.event_id === lastEventId);
    if (i >= 0) return this.items.slice(i + 1);
    const id = lastEventId.toLowerCase();
    return this.items.filter((e) => e.event_id > id);
  }
}

/**
 * The size an envelope takes, estimated without serialising text deltas again: the text of `{delta}` payloads,
 * else the JSON of the payload, plus a fixed allowance for the envelope's other fields.
 */
function sizeOf(env: Envelope): number {
  const p = env.payload as { delta?: unknown } | undefined;
  const payload = p && typeof p.delta === 'string' ? p.delta.length : p === undefined ? 0 : (JSON.stringify(p)?.length ?? 0);
  return payload + 512;
}
