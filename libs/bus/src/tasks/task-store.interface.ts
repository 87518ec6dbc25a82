import type { Envelope } from '../protocol/envelope.js';
import type { TaskListQuery, TaskPage, TaskRecord } from './task.types.js';

/** A stored record and the revision a compare-and-set must name. */
export interface VersionedTask {
  record: TaskRecord;
  revision: number;
}

/** One delivery of a queued task to a worker. */
export interface TaskDelivery {
  taskId: string;
  /** Which queue message this is (JetStream: its stream sequence): a redelivery of it has the same id. */
  deliveryId: string;
  /** Deliveries of this queue entry so far (1 on the first): a worker that died makes the next one 2. */
  deliveryCount: number;
  /** Still working on it: keeps the delivery from being handed to another worker. */
  working(): void;
  /** How often `working` must be called while the run lasts (0: never). */
  readonly keepAliveMs: number;
  /** Done with it (the task is stored in a state that needs no further run). */
  ack(): Promise<void>;
  /** A message that names no task: dropped for good, never delivered again (JetStream: `term`). */
  reject(): Promise<void>;
  /** Hands the message back to be delivered again after `ms` (JetStream: a delayed `nak`); absent: not supported. */
  retryLater?(ms: number): Promise<void>;
}

export interface TaskConsumer {
  stop(): Promise<void>;
  /**
   * Takes no new deliveries while paused (true), keeping the ones it runs. Without it, a drained worker stops the
   * consumer (whose runs in progress still finish and acknowledge) and starts another on resume.
   */
  pause?(paused: boolean): void;
}

/**
 * Where tasks live. Two implementations: memory (one process) and JetStream (a KV bucket of records, a stream of
 * task frames, a work-queue stream per target). Transitions are compare-and-set on the record, so two parties can
 * never both end a task.
 */
export interface TaskStore {
  readonly kind: 'memory' | 'jetstream';
  init(): Promise<void>;
  close(): Promise<void>;
  /** Stores a new record (fails if the id exists, or if the store cannot hold it: INVALID_REQUEST naming the size). */
  create(record: TaskRecord): Promise<number>;
  /**
   * A new task as one operation: its record, its `created` frame and its queue entry, or nothing (a record the
   * store cannot hold is refused before anything is written). A submit cut short by a dying process is finished
   * or removed by the store (JetStream: at the next start).
   */
  submit(record: TaskRecord, created: Envelope): Promise<void>;
  get(id: string): Promise<VersionedTask | undefined>;
  /** Compare-and-set: false when the record changed since `revision`; INVALID_REQUEST when it grew past what the store holds. */
  update(record: TaskRecord, revision: number): Promise<number | false>;
  list(query: TaskListQuery): Promise<TaskPage>;
  /** Appends one frame to the task's log. */
  appendFrame(frame: Envelope): Promise<void>;
  /** The seq of the last frame in the task's log (undefined: an empty log, or no such task). */
  lastFrameSeq(taskId: string): Promise<number | undefined>;
  /** The task's frames with seq > afterSeq, then live ones, until the terminal frame (or the signal). */
  frames(taskId: string, afterSeq: number, signal?: AbortSignal): AsyncIterable<Envelope>;
  /**
   * Queues a run of the task for the workers of `target`. `key` names this queueing (the record's seq when it was
   * decided): queueing again with the same key within the store's de-duplication window adds no second entry.
   */
  enqueue(target: string, taskId: string, key?: string): Promise<void>;
  /** Hands queued tasks of `target` to `run`, at most `concurrency` at once. */
  consume(target: string, concurrency: number, run: (d: TaskDelivery) => Promise<void>): Promise<TaskConsumer>;
  /** Tells every worker that a task was cancelled. */
  publishCancel(taskId: string): Promise<void>;
  onCancel(fn: (taskId: string) => void): () => void;
}
