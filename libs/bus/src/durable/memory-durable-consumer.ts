import { subjectMatches } from '../protocol/subject-match.js';
import type { Envelope } from '../protocol/envelope.js';
import { enqueueDelivery } from '../utils/delivery-queue.js';
import { jsonClone } from '../utils/json-clone.js';
import type { DurableConsumerHandle, DurableConsumerSpec, DurableDelivery } from './durable-log.js';

export interface StoredEvent {
  readonly subject: string;
  readonly env: Envelope;
  readonly time: number;
}

/** What the consumer needs of its log. */
export interface EventSource {
  readonly lastSeq: number;
  entry(seq: number): StoredEvent | undefined;
}

interface Member {
  readonly concurrency: number;
  readonly run: (d: DurableDelivery) => Promise<void>;
  active: number;
}

interface InFlight {
  member: Member;
  timer: NodeJS.Timeout;
}

/**
 * A named consumer of the in-process log, shared by every bus that joins it under its name: events go round the
 * members with free slots; an event not acked within the ack wait, nacked, or held by a member that leaves is
 * delivered again (redeliveries first, then new events in log order).
 */
export class MemoryDurableConsumer {
  private cursor: number;
  private readonly ready: number[] = [];
  private readonly inFlight = new Map<number, InFlight>();
  private readonly counts = new Map<number, number>();
  private readonly members: Member[] = [];
  private turn = 0;
  private scheduled = false;
  /**
   * Events waiting out a nak's backoff, by timer. Referenced timers: work the log still holds keeps the process
   * alive for the backoff, as a retry would; when the last member leaves they are cleared and the events are due.
   */
  private readonly backoffs = new Map<NodeJS.Timeout, number>();

  constructor(
    private readonly log: EventSource,
    private spec: DurableConsumerSpec,
    start: number,
  ) {
    this.cursor = start;
  }

  get filter(): string {
    return this.spec.filter;
  }

  /**
   * Takes a new filter and ack wait (a durable name subscribed with another pattern, as JetStream updates the
   * consumer); false when replicas still consume it under another filter.
   */
  follow(spec: DurableConsumerSpec): boolean {
    if (spec.filter === this.spec.filter) {
      this.spec = { ...this.spec, ackWaitMs: spec.ackWaitMs };
      return true;
    }
    if (this.members.length > 0) return false;
    this.spec = { ...this.spec, filter: spec.filter, ackWaitMs: spec.ackWaitMs };
    return true;
  }

  join(concurrency: number, run: (d: DurableDelivery) => Promise<void>): DurableConsumerHandle {
    const member: Member = { concurrency, run, active: 0 };
    this.members.push(member);
    this.schedule();
    return {
      stop: async () => {
        const i = this.members.indexOf(member);
        if (i < 0) return;
        this.members.splice(i, 1);
        // A member that leaves gives its events back at once (a process that dies: after the ack wait).
        for (const [seq, f] of this.inFlight) {
          if (f.member !== member) continue;
          clearTimeout(f.timer);
          this.inFlight.delete(seq);
          this.ready.push(seq);
        }
        if (this.members.length === 0) {
          for (const [t, seq] of this.backoffs) {
            clearTimeout(t);
            this.ready.push(seq);
          }
          this.backoffs.clear();
        }
        this.schedule();
      },
    };
  }

  /** Hands out events later, as the memory transport delivers: never inside the publish or ack that made them due. */
  schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    enqueueDelivery(() => {
      this.scheduled = false;
      this.pump();
    });
  }

  /** Hands out events while a member has a free slot. */
  private pump(): void {
    for (;;) {
      const k = this.freeMember();
      if (k < 0) return;
      const seq = this.next();
      if (seq === undefined) return;
      // The turn moves only with a delivery, so replicas alternate however often the consumer is pumped.
      this.turn = (k + 1) % this.members.length;
      this.deliver(this.members[k], seq);
    }
  }

  /** The index of the next member in turn with a free slot, or -1. */
  private freeMember(): number {
    for (let i = 0; i < this.members.length; i++) {
      const k = (this.turn + i) % this.members.length;
      if (this.members[k].active < this.members[k].concurrency) return k;
    }
    return -1;
  }

  private next(): number | undefined {
    while (this.ready.length > 0) {
      const seq = this.ready.shift()!;
      if (this.log.entry(seq)) return seq;
      this.counts.delete(seq);
    }
    while (this.cursor <= this.log.lastSeq) {
      const seq = this.cursor++;
      const e = this.log.entry(seq);
      if (e && subjectMatches(this.spec.filter, e.subject)) return seq;
    }
    return undefined;
  }

  private deliver(member: Member, seq: number): void {
    const e = this.log.entry(seq)!;
    const count = (this.counts.get(seq) ?? 0) + 1;
    this.counts.set(seq, count);
    member.active++;
    let settled = false;
    const expire = () => {
      if (settled || this.inFlight.get(seq)?.member !== member) return;
      this.inFlight.delete(seq);
      this.ready.push(seq);
      this.schedule();
    };
    const flight: InFlight = { member, timer: unrefTimer(expire, this.spec.ackWaitMs) };
    this.inFlight.set(seq, flight);
    const settle = (then: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(flight.timer);
      if (this.inFlight.get(seq) === flight) {
        this.inFlight.delete(seq);
        then();
      }
    };
    const delivery: DurableDelivery = {
      subject: e.subject,
      envelope: jsonClone(e.env),
      seq,
      deliveryCount: count,
      ack: async () => settle(() => this.counts.delete(seq)),
      term: () => settle(() => this.counts.delete(seq)),
      nak: (delayMs) =>
        settle(() => {
          const t = setTimeout(() => {
            this.backoffs.delete(t);
            this.ready.push(seq);
            this.schedule();
          }, delayMs);
          this.backoffs.set(t, seq);
        }),
      working: () => {
        if (settled || this.inFlight.get(seq) !== flight) return;
        clearTimeout(flight.timer);
        flight.timer = unrefTimer(expire, this.spec.ackWaitMs);
      },
    };
    void member
      .run(delivery)
      .catch(() => undefined)
      .finally(() => {
        member.active--;
        this.schedule();
      });
  }
}

function unrefTimer(fn: () => void, ms: number): NodeJS.Timeout {
  const t = setTimeout(fn, ms);
  t.unref();
  return t;
}
