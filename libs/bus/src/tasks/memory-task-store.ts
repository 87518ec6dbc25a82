import { BusError } from '../errors/bus-error.js';
import { ErrorCodes } from '../errors/error-codes.js';
import type { Envelope } from '../protocol/envelope.js';
import type { TaskConsumer, TaskDelivery, TaskStore, VersionedTask } from './task-store.interface.js';
import { pageOf } from './task-paging.js';
import type { TaskListQuery, TaskPage, TaskRecord } from './task.types.js';

interface QueueEntry {
  taskId: string;
  deliveries: number;
}

interface MemoryQueue {
  ready: QueueEntry[];
  consumers: Set<MemoryConsumer>;
}

/**
 * Tasks in this process: the embedded default, with the same behaviour as JetStream where one process can show
 * it (a queue entry a stopped consumer did not acknowledge is delivered again, compare-and-set on records).
 */
export class MemoryTaskStore implements TaskStore {
  readonly kind = 'memory' as const;
  private readonly records = new Map<string, VersionedTask>();
  private readonly logs = new Map<string, Envelope[]>();
  private readonly followers = new Map<string, Set<() => void>>();
  private readonly queues = new Map<string, MemoryQueue>();
  private readonly cancelListeners = new Set<(id: string) => void>();

  async init(): Promise<void> {}
  async close(): Promise<void> {
    for (const q of this.queues.values()) for (const c of [...q.consumers]) await c.stop();
  }

  async create(record: TaskRecord): Promise<number> {
    if (this.records.has(record.id)) throw new BusError(ErrorCodes.INVALID_REQUEST, `task ${record.id} already exists`);
    this.records.set(record.id, { record: structuredClone(record), revision: 1 });
    return 1;
  }

  async get(id: string): Promise<VersionedTask | undefined> {
    const v = this.records.get(id);
    return v && { record: structuredClone(v.record), revision: v.revision };
  }

  async update(record: TaskRecord, revision: number): Promise<number | false> {
    const cur = this.records.get(record.id);
    if (!cur || cur.revision !== revision) return false;
    const next = { record: structuredClone(record), revision: revision + 1 };
    this.records.set(record.id, next);
    return next.revision;
  }

  async list(query: TaskListQuery): Promise<TaskPage> {
    return pageOf(
      [...this.records.values()].map((v) => v.record),
      query,
      (r) => structuredClone(r),
    );
  }

  async appendFrame(frame: Envelope): Promise<void> {
    const id = frame.correlation_id!;
    const log = this.logs.get(id) ?? [];
    log.push(structuredClone(frame));
    this.logs.set(id, log);
    for (const wake of this.followers.get(id) ?? []) wake();
  }

  async *frames(taskId: string, afterSeq: number, signal?: AbortSignal): AsyncIterable<Envelope> {
    let next = 0;
    for (;;) {
      const log = this.logs.get(taskId) ?? [];
      while (next < log.length) {
        const f = log[next++];
        if ((f.seq ?? 0) > afterSeq) yield structuredClone(f);
        if (f.is_final) return;
      }
      if (signal?.aborted) return;
      await new Promise<void>((resolve) => {
        const set = this.followers.get(taskId) ?? new Set();
        const wake = () => {
          set.delete(wake);
          signal?.removeEventListener('abort', wake);
          resolve();
        };
        set.add(wake);
        this.followers.set(taskId, set);
        signal?.addEventListener('abort', wake, { once: true });
      });
    }
  }

  async enqueue(target: string, taskId: string): Promise<void> {
    const q = this.queue(target);
    q.ready.push({ taskId, deliveries: 0 });
    this.pump(q);
  }

  async consume(target: string, concurrency: number, run: (d: TaskDelivery) => Promise<void>): Promise<TaskConsumer> {
    const q = this.queue(target);
    const consumer = new MemoryConsumer(q, concurrency, run, () => this.pump(q));
    q.consumers.add(consumer);
    this.pump(q);
    return consumer;
  }

  async publishCancel(taskId: string): Promise<void> {
    for (const fn of this.cancelListeners) fn(taskId);
  }

  onCancel(fn: (taskId: string) => void): () => void {
    this.cancelListeners.add(fn);
    return () => this.cancelListeners.delete(fn);
  }

  private queue(target: string): MemoryQueue {
    let q = this.queues.get(target);
    if (!q) {
      q = { ready: [], consumers: new Set() };
      this.queues.set(target, q);
    }
    return q;
  }

  private pump(q: MemoryQueue): void {
    for (const c of q.consumers) {
      while (q.ready.length > 0 && c.hasRoom()) c.deliver(q.ready.shift()!);
    }
  }
}

/** A consumer of one target's queue; stopping it returns what it holds unacknowledged, as a lost worker would. */
class MemoryConsumer implements TaskConsumer {
  private readonly inFlight = new Set<QueueEntry>();
  private stopped = false;

  constructor(
    private readonly q: MemoryQueue,
    private readonly concurrency: number,
    private readonly run: (d: TaskDelivery) => Promise<void>,
    private readonly pump: () => void,
  ) {}

  hasRoom(): boolean {
    return !this.stopped && this.inFlight.size < this.concurrency;
  }

  deliver(entry: QueueEntry): void {
    entry.deliveries++;
    this.inFlight.add(entry);
    let acked = false;
    const delivery: TaskDelivery = {
      taskId: entry.taskId,
      deliveryCount: entry.deliveries,
      working: () => undefined,
      keepAliveMs: 0,
      ack: async () => {
        if (acked || this.stopped) return;
        acked = true;
        this.inFlight.delete(entry);
        queueMicrotask(this.pump);
      },
    };
    queueMicrotask(() => void this.run(delivery).catch(() => undefined));
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.q.consumers.delete(this);
    for (const entry of this.inFlight) this.q.ready.unshift(entry);
    this.inFlight.clear();
    this.pump();
  }
}
