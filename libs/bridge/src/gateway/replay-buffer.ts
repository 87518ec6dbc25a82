import type { Envelope } from '@openagentio/nestjs';

/** A bounded buffer of recent frames/events for Last-Event-ID resumption. */
export class ReplayBuffer {
  private items: Envelope[] = [];
  /** Items dropped from the front because the buffer was full. */
  dropped = 0;

  constructor(readonly capacity: number) {}

  push(env: Envelope): void {
    this.items.push(env);
    if (this.items.length > this.capacity) {
      const n = this.items.length - this.capacity;
      this.items.splice(0, n);
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
