import { BusError } from '../errors/bus-error.js';
import { ErrorCodes } from '../errors/error-codes.js';
import type { Envelope } from '../protocol/envelope.js';
import type { TaskConsumer, TaskDelivery, TaskStore, VersionedTask } from './task-store.interface.js';
import { matchesQuery, pageLimit, tenantToken } from './task-paging.js';
import { RECORD_HEADROOM, tooLarge } from './task-size.js';
import { isTerminalTaskState, type TaskListQuery, type TaskPage, type TaskRecord } from './task.types.js';

/** Bounds of the memory store. */
export interface MemoryTaskStoreOptions {
  /** An ended task (record and frames) is removed this long after it ended (ms). Default 3 600 000 (1 h). */
  ttlMs?: number;
  /** Tasks held at once; past it the oldest ended ones go first, then submits are refused (BACKPRESSURE_DROP). Default 10 000. */
  maxTasks?: number;
  /** Bytes (JSON) of records and frames held at once, with the same rule. Default 256 MiB. */
  maxBytes?: number;
  /** The largest record (JSON bytes); a bigger one is INVALID_REQUEST naming its size. Default 1 MiB, as NATS's max_payload. */
  maxTaskBytes?: number;
}

interface Stored {
  /** The record as JSON: every reader gets its own copy, and its size is known. */
  text: string;
  revision: number;
  tenant: string;
  /** Bytes of the record and of its frames. */
  bytes: number;
  frames: string[];
  /** When it ended (ms), for the TTL. */
  endedAt?: number;
}

interface QueueEntry {
  taskId: string;
  deliveryId: string;
  deliveries: number;
}

interface MemoryQueue {
  ready: QueueEntry[];
  consumers: Set<MemoryConsumer>;
}

/**
 * Tasks in this process: the embedded default, with the same behaviour as JetStream where one process can show
 * it (a queue entry a stopped consumer did not acknowledge is delivered again, compare-and-set on records), and
 * bounded: ended tasks expire after `ttlMs`, and tasks and bytes are capped.
 */
export class MemoryTaskStore implements TaskStore {
  readonly kind = 'memory' as const;
  private readonly o: Required<MemoryTaskStoreOptions>;
  private readonly tasks = new Map<string, Stored>();
  /** Task ids per tenant token, in creation order. */
  private readonly byTenant = new Map<string, Set<string>>();
  private bytes = 0;
  private readonly followers = new Map<string, Set<() => void>>();
  private readonly queues = new Map<string, MemoryQueue>();
  private readonly cancelListeners = new Set<(id: string) => void>();
  private nextDelivery = 0;
  private expiry?: NodeJS.Timeout;

  constructor(options: MemoryTaskStoreOptions = {}) {
    this.o = {
      ttlMs: options.ttlMs ?? 3_600_000,
      maxTasks: options.maxTasks ?? 10_000,
      maxBytes: options.maxBytes ?? 256 * 1024 * 1024,
      maxTaskBytes: options.maxTaskBytes ?? 1024 * 1024,
    };
    const every = Math.min(30_000, Math.max(50, Math.floor(this.o.ttlMs / 2)));
    this.expiry = setInterval(() => this.expire(Date.now()), every);
    this.expiry.unref();
  }

  /** Tasks and bytes held now. */
  get usage(): { tasks: number; bytes: number } {
    return { tasks: this.tasks.size, bytes: this.bytes };
  }

  async init(): Promise<void> {}

  async close(): Promise<void> {
    if (this.expiry) clearInterval(this.expiry);
    for (const q of this.queues.values()) for (const c of [...q.consumers]) await c.stop();
  }

  /** Removes the tasks that ended more than `ttlMs` ago. */
  expire(now: number): void {
    for (const [id, t] of this.tasks) if (t.endedAt !== undefined && now - t.endedAt >= this.o.ttlMs) this.remove(id, t);
  }

  private remove(id: string, t: Stored): void {
    this.tasks.delete(id);
    this.bytes -= t.bytes;
    const ids = this.byTenant.get(t.tenant);
    ids?.delete(id);
    if (ids?.size === 0) this.byTenant.delete(t.tenant);
  }

  private encode(record: TaskRecord): string {
    const text = JSON.stringify(record);
    const limit = this.o.maxTaskBytes - RECORD_HEADROOM;
    if (text.length * 3 > limit) {
      const bytes = Buffer.byteLength(text);
      if (bytes > limit) throw tooLarge(record.id, bytes, limit, 'the memory store maxTaskBytes less room for a frame');
    }
    return text;
  }

  /** Room for `bytes` more and one more task: the oldest ended tasks go first; without enough, BACKPRESSURE_DROP. */
  private makeRoom(bytes: number): void {
    const fits = () => this.tasks.size < this.o.maxTasks && this.bytes + bytes <= this.o.maxBytes;
    if (fits()) return;
    const ended = [...this.tasks].filter(([, t]) => t.endedAt !== undefined).sort((a, b) => a[1].endedAt! - b[1].endedAt!);
    for (const [id, t] of ended) {
      this.remove(id, t);
      if (fits()) return;
    }
    throw new BusError(
      ErrorCodes.BACKPRESSURE_DROP,
      `the memory task store is full (${this.tasks.size} tasks, ${this.bytes} bytes; limits ${this.o.maxTasks} tasks, ` +
        `${this.o.maxBytes} bytes) and none of its tasks has ended`,
    );
  }

  async create(record: TaskRecord): Promise<number> {
    this.insert(record, this.encode(record));
    return 1;
  }

  private insert(record: TaskRecord, text: string): Stored {
    if (this.tasks.has(record.id)) throw new BusError(ErrorCodes.INVALID_REQUEST, `task ${record.id} already exists`);
    this.makeRoom(text.length);
    const tenant = tenantToken(record.tenant_id);
    const t: Stored = { text, revision: 1, tenant, bytes: text.length, frames: [] };
    this.tasks.set(record.id, t);
    this.bytes += t.bytes;
    let ids = this.byTenant.get(tenant);
    if (!ids) this.byTenant.set(tenant, (ids = new Set()));
    ids.add(record.id);
    return t;
  }

  async submit(record: TaskRecord, created: Envelope): Promise<void> {
    const text = this.encode(record);
    // The created frame repeats the session fields beside the record's: checked too, before anything is written.
    const frameText = JSON.stringify(created);
    const maxFrame = this.o.maxTaskBytes - RECORD_HEADROOM / 2;
    if (frameText.length * 3 > maxFrame && Buffer.byteLength(frameText) > maxFrame) {
      throw tooLarge(record.id, Buffer.byteLength(frameText), maxFrame, 'its created frame, the memory store maxTaskBytes');
    }
    // One turn of the event loop: nothing can see the record without its frame and queue entry.
    this.insert(record, text);
    this.push(record.id, frameText);
    this.queueRun(record.target, record.id);
  }

  async get(id: string): Promise<VersionedTask | undefined> {
    const t = this.tasks.get(id);
    return t && { record: JSON.parse(t.text) as TaskRecord, revision: t.revision };
  }

  async update(record: TaskRecord, revision: number): Promise<number | false> {
    const cur = this.tasks.get(record.id);
    if (!cur || cur.revision !== revision) return false;
    const text = this.encode(record);
    this.bytes += text.length - cur.text.length;
    cur.bytes += text.length - cur.text.length;
    cur.text = text;
    cur.revision++;
    if (isTerminalTaskState(record.state)) cur.endedAt ??= Date.now();
    return cur.revision;
  }

  /** Newest first, reading only the asked tenant's tasks (every tenant's without `tenant_id`); the cursor is the last id of the previous page. */
  async list(query: TaskListQuery): Promise<TaskPage> {
    const limit = pageLimit(query);
    const pools = query.tenant_id === undefined ? [...this.byTenant.values()] : [this.byTenant.get(tenantToken(query.tenant_id))];
    const ids: string[] = [];
    for (const pool of pools) for (const id of pool ?? []) if (query.cursor === undefined || id < query.cursor) ids.push(id);
    if (pools.length > 1) ids.sort();
    const tasks: TaskRecord[] = [];
    for (let i = ids.length - 1; i >= 0 && tasks.length <= limit; i--) {
      const r = JSON.parse(this.tasks.get(ids[i])!.text) as TaskRecord;
      if (matchesQuery(r, query)) tasks.push(r);
    }
    if (tasks.length <= limit) return { tasks };
    tasks.length = limit;
    return { tasks, next_cursor: tasks[limit - 1].id };
  }

  async appendFrame(frame: Envelope): Promise<void> {
    this.push(frame.correlation_id!, JSON.stringify(frame));
  }

  async lastFrameSeq(taskId: string): Promise<number | undefined> {
    const log = this.tasks.get(taskId)?.frames;
    return log?.length ? ((JSON.parse(log[log.length - 1]) as Envelope).seq ?? 0) : undefined;
  }

  private push(id: string, text: string): void {
    const t = this.tasks.get(id);
    if (!t) return; // expired or never stored: nobody can follow it
    t.frames.push(text);
    t.bytes += text.length;
    this.bytes += text.length;
    for (const wake of this.followers.get(id) ?? []) wake();
  }

  async *frames(taskId: string, afterSeq: number, signal?: AbortSignal): AsyncIterable<Envelope> {
    let next = 0;
    for (;;) {
      const log = this.tasks.get(taskId)?.frames ?? [];
      while (next < log.length) {
        const f = JSON.parse(log[next++]) as Envelope;
        if ((f.seq ?? 0) > afterSeq) yield f;
        if (f.is_final) return;
      }
      if (signal?.aborted) return;
      await new Promise<void>((resolve) => {
        const set = this.followers.get(taskId) ?? new Set();
        const wake = () => {
          set.delete(wake);
          if (set.size === 0 && this.followers.get(taskId) === set) this.followers.delete(taskId);
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
    this.queueRun(target, taskId);
  }

  private queueRun(target: string, taskId: string): void {
    const q = this.queue(target);
    q.ready.push({ taskId, deliveryId: `m${++this.nextDelivery}`, deliveries: 0 });
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
  private paused = false;

  constructor(
    private readonly q: MemoryQueue,
    private readonly concurrency: number,
    private readonly run: (d: TaskDelivery) => Promise<void>,
    private readonly pump: () => void,
  ) {}

  hasRoom(): boolean {
    return !this.stopped && !this.paused && this.inFlight.size < this.concurrency;
  }

  pause(paused: boolean): void {
    this.paused = paused;
    if (!paused) this.pump();
  }

  deliver(entry: QueueEntry): void {
    entry.deliveries++;
    this.inFlight.add(entry);
    let acked = false;
    const done = async () => {
      if (acked || this.stopped) return;
      acked = true;
      this.inFlight.delete(entry);
      queueMicrotask(this.pump);
    };
    const delivery: TaskDelivery = {
      taskId: entry.taskId,
      deliveryId: entry.deliveryId,
      deliveryCount: entry.deliveries,
      working: () => undefined,
      keepAliveMs: 0,
      ack: done,
      reject: done,
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
