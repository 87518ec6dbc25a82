import { BusError } from '../errors/bus-error.js';
import { ErrorCodes } from '../errors/error-codes.js';
import { subjectMatches } from '../protocol/subject-match.js';
import type { Envelope } from '../protocol/envelope.js';
import { asWireForm } from '../protocol/envelope-codec.js';
import { MemoryTransport } from '../transport/memory/memory-transport.js';
import type { MemoryBroker } from '../transport/memory/memory-broker.js';
import type { TransportSubscription } from '../transport/transport.interface.js';
import { jsonClone } from '../utils/json-clone.js';
import type { DurableConsumerHandle, DurableConsumerSpec, DurableDelivery, DurableEventLog } from './durable-log.js';
import { MemoryDurableConsumer, type StoredEvent } from './memory-durable-consumer.js';

export interface MemoryEventLogOptions {
  subjects: string[];
  maxMessages: number;
  duplicateWindowMs: number;
}

const logs = new WeakMap<MemoryBroker, MemoryEventLog>();

/**
 * JetStream's semantics in process, one log per MemoryBroker (as one stream per server): it captures every
 * publish on its subjects (core ones too, through a subscription of its own), keeps the newest `maxMessages`,
 * stores a durable publish once per message id within the duplicate window, and serves named consumers that
 * every bus on the broker shares.
 */
export class MemoryEventLog implements DurableEventLog {
  private readonly entries: (StoredEvent | undefined)[] = [];
  /** Sequence of entries[0]. */
  private firstSeq = 1;
  private head = 0;
  private readonly seen = new Map<string, number>();
  private readonly consumers = new Map<string, MemoryDurableConsumer>();
  private readonly transport: MemoryTransport;
  private readonly capture: TransportSubscription[] = [];

  private constructor(
    broker: MemoryBroker,
    private readonly o: MemoryEventLogOptions,
  ) {
    this.transport = new MemoryTransport({ broker, validate: false });
  }

  /** The broker's log, made (and capturing) on first use; later callers get it as it is. */
  static async of(broker: MemoryBroker, options: MemoryEventLogOptions): Promise<MemoryEventLog> {
    let log = logs.get(broker);
    if (!log) {
      log = new MemoryEventLog(broker, options);
      logs.set(broker, log);
      await log.transport.connect();
      for (const s of options.subjects) {
        log.capture.push(
          log.transport.subscribe(s, (m) => {
            if (m.envelope) log!.append(m.subject, m.envelope, m.envelope.event_id);
          }),
        );
      }
    }
    return log;
  }

  get lastSeq(): number {
    return this.firstSeq + this.entries.length - this.head - 1;
  }

  entry(seq: number): StoredEvent | undefined {
    if (seq < this.firstSeq) return undefined;
    return this.entries[this.head + seq - this.firstSeq];
  }

  captures(subject: string): boolean {
    return this.o.subjects.some((s) => subjectMatches(s, subject));
  }

  /** Stores an event unless its message id was stored within the window; returns its sequence and whether it was a duplicate. */
  private append(subject: string, env: Envelope, msgId: string): { seq: number; duplicate: boolean } {
    const now = Date.now();
    const prev = this.seen.get(msgId);
    if (prev !== undefined && now - this.entry(prev)!.time <= this.o.duplicateWindowMs) return { seq: prev, duplicate: true };
    this.entries.push({ subject, env: jsonClone(asWireForm(env)) as Envelope, time: now });
    const seq = this.lastSeq;
    this.seen.set(msgId, seq);
    if (this.seen.size > 2 * this.o.maxMessages) for (const [id, s] of this.seen) if (s < this.firstSeq) this.seen.delete(id);
    while (this.entries.length - this.head > this.o.maxMessages) {
      this.entries[this.head++] = undefined;
      this.firstSeq++;
    }
    // Compacts now and then, so dropping the oldest costs O(1) amortised.
    if (this.head > 1024 && this.head * 2 > this.entries.length) {
      this.entries.splice(0, this.head);
      this.head = 0;
    }
    for (const c of this.consumers.values()) c.schedule();
    return { seq, duplicate: false };
  }

  async publish(subject: string, envelope: Envelope, msgId = envelope.event_id): Promise<{ seq: number; duplicate: boolean }> {
    if (!this.captures(subject)) {
      throw new BusError(
        ErrorCodes.INVALID_REQUEST,
        `durable publish to ${subject}: the memory log does not capture it (its subjects: ${this.o.subjects.join(', ')})`,
      );
    }
    const stored = this.append(subject, envelope, msgId);
    // Core subscribers see it as over NATS; the capture subscription finds its id already stored.
    if (!stored.duplicate) this.transport.publish(subject, envelope);
    return stored;
  }

  async consume(spec: DurableConsumerSpec, run: (d: DurableDelivery) => Promise<void>): Promise<DurableConsumerHandle> {
    let consumer = this.consumers.get(spec.name);
    if (consumer && !consumer.follow(spec)) {
      throw new BusError(
        ErrorCodes.INVALID_REQUEST,
        `durable consumer ${spec.name} is in use on ${consumer.filter} and cannot take ${spec.filter} too: use another durable name`,
      );
    }
    if (!consumer) {
      consumer = new MemoryDurableConsumer(this, spec, this.startSeq(spec));
      this.consumers.set(spec.name, consumer);
    }
    return consumer.join(spec.concurrency, run);
  }

  private startSeq(spec: DurableConsumerSpec): number {
    const from = spec.deliverFrom;
    if (from === 'new') return this.lastSeq + 1;
    if (from === 'beginning') return this.firstSeq;
    if (from instanceof Date) {
      let seq = this.firstSeq;
      while (seq <= this.lastSeq && this.entry(seq)!.time < from.getTime()) seq++;
      return seq;
    }
    return Math.max(this.firstSeq, from.seq);
  }

  async replay(filter: string, from: Date, to: Date, each: (subject: string, env: Envelope) => Promise<void> | void): Promise<number> {
    const last = this.lastSeq;
    let n = 0;
    for (let seq = this.firstSeq; seq <= last; seq++) {
      const e = this.entry(seq);
      if (!e || e.time < from.getTime() || !subjectMatches(filter, e.subject)) continue;
      if (e.time > to.getTime()) break;
      await each(e.subject, jsonClone(e.env));
      n++;
    }
    return n;
  }

  /** Buses come and go; the log lives as long as its broker (as a stream outlives its clients). */
  async close(): Promise<void> {}
}
