import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import { BusError } from '../errors/bus-error.js';
import { ErrorCodes } from '../errors/error-codes.js';
import type { Envelope } from '../protocol/envelope.js';
import { newEventId } from '../protocol/ids.js';
import { consoleBusLogger, type BusLogger } from '../runtime/bus-logger.js';
import { loadPackages } from '../utils/load-package.js';
import { NS, PULL_EXPIRES_MS, type Js, type JsClient, type JsManager, type KvStore } from './jetstream-lib.js';
import { consumeQueue } from './jetstream-queue-consumer.js';
import { defaultReplicas } from './jetstream-replicas.js';
import { ensureStream, openBucket } from './jetstream-resources.js';
import { DEFAULT_RETRY_WINDOW_MS, retrying } from './jetstream-retry.js';
import { DEFAULT_TASK_NAMES, kvKeySubject, kvStreamOf, taskCancelSubject, taskFrameSubject, taskQueueSubject } from './jetstream-names.js';
import type { TaskConsumer, TaskDelivery, TaskStore, VersionedTask } from './task-store.interface.js';
import { createdFrame } from './task-frame.js';
import { matchesQuery, pageLimit, tenantToken } from './task-paging.js';
import { RECORD_HEADROOM, tooLarge } from './task-size.js';
import { isTaskId, type TaskListQuery, type TaskPage, type TaskRecord } from './task.types.js';

/** Names, limits and retention of the JetStream resources tasks live in. */
export interface JetStreamTaskStoreOptions {
  /** KV bucket of task records. Default `acp_tasks`. */
  bucket?: string;
  /** Stream of task frames (one subject per task). Default `ACP_TASK_FRAMES`. */
  framesStream?: string;
  /** Work-queue stream of queued runs (one subject per target). Default `ACP_TASK_QUEUE`. */
  queueStream?: string;
  /** Subject prefix of both streams and of cancel notices. Default `acp.tasks`. */
  subjectPrefix?: string;
  /** How long a worker may hold a run without a sign of life before it is given to another (ms). Default 30 000. */
  ackWaitMs?: number;
  /** How long records (since their last change), frames and queued runs are kept (ms). Default 7 days. */
  maxAgeMs?: number;
  /** Bytes the bucket and each stream may hold; past it the oldest go first (the queue refuses new runs). Default unlimited. */
  maxBytes?: number;
  /**
   * Replicas of the streams and the bucket. Default: 3 when the server is one of a cluster of 3 or more, else 1.
   * Found with fewer at start-up, they are raised (or a warning says why not); never lowered.
   */
  replicas?: number;
  /**
   * How long one store operation (storing a task, a status, a frame, a queue entry) retries through a JetStream
   * election or a lost server before it fails with a retryable TRANSPORT_FAILURE (ms). Default 20 000.
   */
  retryWindowMs?: number;
  /** A submit that has not finished after this long was cut short (its process died): the sweeper finishes it (ms). Default 30 000. */
  orphanAfterMs?: number;
}

/** KV keys besides the records (whose keys are task ids, without dots). */
const INDEX = 'ix';
const PENDING = 'pending';
const INDEX_BUILT = 'meta.index_v1';

/**
 * Tasks on NATS JetStream. Records in a KV bucket (compare-and-set by revision) under their id, with an index key
 * per tenant (`ix.<tenant>.<id>`) so a tenant's list reads only its own; frames in a stream with one subject per
 * task, read back with an ordered consumer that is deleted when its follower leaves; queued runs in a work-queue
 * stream with a durable pull consumer per target: a run is acknowledged only once its outcome is stored, so a
 * worker that dies leaves it to be delivered again after `ackWaitMs`. A submit writes a `pending.<id>` marker
 * first and removes it last, so one cut short by a dying process is found and finished by the next start.
 */
export class JetStreamTaskStore implements TaskStore {
  readonly kind = 'jetstream' as const;
  private readonly o: Required<Omit<JetStreamTaskStoreOptions, 'replicas'>> & { replicas?: number };
  private js!: JsClient;
  private jsm!: JsManager;
  private kv!: KvStore;
  private jsLib!: Js;
  private cancelSub?: Subscription;
  private readonly cancelListeners = new Set<(id: string) => void>();
  private readonly consumers = new Set<TaskConsumer>();
  private sweeping?: Promise<number>;
  private sweepTimer?: NodeJS.Timeout;
  /**
   * Where this store marks its submits in progress: `pending.<store>.<slot>`, a slot per submit in flight, reused
   * once its submit has finished (the next mark overwrites the last: the bucket keeps one value per key), so a
   * submit writes one mark and removes none. A submit that failed keeps its slot out of use, its mark for the sweeper.
   */
  private readonly markPrefix = `${PENDING}.${newEventId().replace(/-/g, '')}`;
  private readonly freeSlots: number[] = [];
  private slots = 0;

  constructor(
    private readonly nc: NatsConnection,
    options: JetStreamTaskStoreOptions = {},
    private readonly logger: BusLogger = consoleBusLogger,
  ) {
    this.o = {
      bucket: options.bucket ?? DEFAULT_TASK_NAMES.bucket,
      framesStream: options.framesStream ?? DEFAULT_TASK_NAMES.framesStream,
      queueStream: options.queueStream ?? DEFAULT_TASK_NAMES.queueStream,
      subjectPrefix: options.subjectPrefix ?? DEFAULT_TASK_NAMES.subjectPrefix,
      ackWaitMs: options.ackWaitMs ?? 30_000,
      maxAgeMs: options.maxAgeMs ?? 7 * 24 * 3600 * 1000,
      maxBytes: options.maxBytes ?? -1,
      replicas: options.replicas,
      retryWindowMs: options.retryWindowMs ?? DEFAULT_RETRY_WINDOW_MS,
      orphanAfterMs: options.orphanAfterMs ?? 30_000,
    };
  }

  get ackWaitMs(): number {
    return this.o.ackWaitMs;
  }

  /** How long one JetStream request may take (ms): a retry window of its own, so the window bounds an operation. */
  private get tryTimeout(): number {
    return Math.min(5_000, Math.max(250, Math.floor(this.o.retryWindowMs / 3)));
  }

  /** The replicas the streams and bucket are meant to have (the option, or what the cluster holds). */
  get replicas(): number {
    return this.o.replicas ?? defaultReplicas(this.nc);
  }

  /** The largest record (JSON bytes) the bucket takes: the server's max_payload, less room for a frame's envelope. */
  get maxRecordBytes(): number {
    return (this.nc.info?.max_payload ?? 1024 * 1024) - RECORD_HEADROOM;
  }

  async init(): Promise<void> {
    const [jsLib, kvLib] = await loadPackages('TasksModule (store: jetstream)', [
      ['@nats-io/jetstream', () => import('@nats-io/jetstream')],
      ['@nats-io/kv', () => import('@nats-io/kv')],
    ] as const);
    this.jsLib = jsLib;
    try {
      this.jsm = await this.jsLib.jetstreamManager(this.nc, { timeout: this.tryTimeout });
      await this.jsm.getAccountInfo();
    } catch (err) {
      throw new BusError(
        ErrorCodes.TRANSPORT_FAILURE,
        `tasks need JetStream, and the NATS server does not offer it (${(err as Error).message}): start nats-server with -js ` +
          '(or a `jetstream { store_dir: … }` block in its configuration), or use TasksModule with store: "memory"',
        { retryable: false },
      );
    }
    this.js = this.jsLib.jetstream(this.nc, { timeout: this.tryTimeout });
    const { RetentionPolicy, StorageType } = this.jsLib;
    const p = this.o.subjectPrefix;
    const replicas = this.replicas;
    const stream = (name: string, subject: string, retention: string) => ({
      name,
      subjects: [subject],
      retention,
      storage: StorageType.File,
      max_age: this.o.maxAgeMs * NS,
      max_bytes: this.o.maxBytes,
      num_replicas: replicas,
      duplicate_window: 120 * 1_000_000_000,
    });
    await ensureStream(this.jsm, stream(this.o.framesStream, taskFrameSubject(p, '*'), RetentionPolicy.Limits), this.logger);
    await ensureStream(this.jsm, stream(this.o.queueStream, taskQueueSubject(p, '>'), RetentionPolicy.Workqueue), this.logger);
    this.kv = await openBucket(kvLib, this.js, this.jsm, this.o, replicas, this.logger);
    // A bucket whose replicas were just raised may elect a new leader now: ride that out (buildIndex is idempotent).
    await retrying('indexing tasks', this.o.retryWindowMs, () => this.buildIndex());
    this.cancelSub = this.nc.subscribe(taskCancelSubject(p), {
      callback: (_e, m) => {
        const id = m.string();
        for (const fn of this.cancelListeners) fn(id);
      },
    });
    // Submits a dead process left half done: finished in the background at start (the store is usable meanwhile),
    // then every `orphanAfterMs`, so a long-lived cluster does not wait for a restart to finish them.
    void this.sweepOrphans().catch(() => undefined);
    this.sweepTimer = setInterval(() => void this.sweepOrphans().catch(() => undefined), Math.max(1_000, this.o.orphanAfterMs));
    this.sweepTimer.unref();
  }

  /**
   * The bucket's keys matching `filter`, from the stream's subject index in one (paged) request. Not `kv.keys()`:
   * that makes a push consumer per call and leaves it on the server (for its inactivity threshold, and always when
   * nothing matches), so a client listing in a loop would pile consumers up as followers once did.
   */
  private async keysOf(filter: string): Promise<string[]> {
    const prefix = kvKeySubject(this.o.bucket, '');
    const info = await retrying('listing tasks', this.o.retryWindowMs, () =>
      this.jsm.streams.info(kvStreamOf(this.o.bucket), { subjects_filter: `${prefix}${filter}` }),
    );
    return Object.keys(info.state.subjects ?? {}).map((s) => s.slice(prefix.length));
  }

  /** A bucket from before the tenant index: index its records once, so lists still show them. */
  private async buildIndex(): Promise<void> {
    if (await this.kv.get(INDEX_BUILT)) return;
    for (const key of await this.keysOf('*')) {
      if (!isTaskId(key)) continue;
      const v = await this.get(key);
      if (v) await this.kv.put(indexKey(v.record), '');
    }
    await this.kv.put(INDEX_BUILT, new Date().toISOString());
  }

  async close(): Promise<void> {
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    for (const c of [...this.consumers]) await c.stop();
    this.cancelSub?.unsubscribe();
    await this.sweeping?.catch(() => undefined);
  }

  /** The record as JSON, or INVALID_REQUEST naming its size when the bucket could not hold it. */
  private encode(record: TaskRecord): string {
    const text = JSON.stringify(record);
    // Characters are a lower bound of bytes: measure only the records that may be too large.
    if (text.length * 3 > this.maxRecordBytes) {
      const bytes = Buffer.byteLength(text);
      if (bytes > this.maxRecordBytes) throw tooLarge(record.id, bytes, this.maxRecordBytes, 'the NATS max_payload less room for a frame');
    }
    return text;
  }

  // Every write below may be retried after a failure that left its outcome unknown (a lost reply during an
  // election): a record write is then read back and counts as done when it holds exactly what was written, and
  // stream publishes carry a message id the stream de-duplicates on.

  /** kv.create through an election: a retry that finds the key holding exactly `text` finds its own write. */
  private createKey(key: string, text: string, what: string): Promise<number> {
    return retrying(what, this.o.retryWindowMs, async (retry) => {
      try {
        return await this.kv.create(key, text);
      } catch (err) {
        const landed = retry && isCasConflict(err) ? await this.kv.get(key) : undefined;
        if (landed && landed.string() === text) return landed.revision;
        throw err;
      }
    });
  }

  private putKey(key: string, text: string, what: string): Promise<number> {
    return retrying(what, this.o.retryWindowMs, () => this.kv.put(key, text));
  }

  async create(record: TaskRecord): Promise<number> {
    const text = this.encode(record);
    const what = `storing task ${record.id}`;
    const [revision] = await Promise.all([this.createKey(record.id, text, what), this.putKey(indexKey(record), '', what)]);
    return revision;
  }

  async submit(record: TaskRecord, created: Envelope): Promise<void> {
    const text = this.encode(record);
    // The created frame repeats the session fields beside the record's: checked too, before anything is written.
    const frameText = JSON.stringify(created);
    const frameBytes = Buffer.byteLength(frameText);
    const maxFrame = this.maxRecordBytes + RECORD_HEADROOM / 2;
    if (frameBytes > maxFrame)
      throw tooLarge(record.id, frameBytes, maxFrame, 'its created frame, the NATS max_payload less room for headers');
    const what = `storing task ${record.id}`;
    const slot = this.freeSlots.pop() ?? this.slots++;
    await this.putKey(`${this.markPrefix}.${slot}`, JSON.stringify({ id: record.id, target: record.target }), what);
    // Under the marker, the record, its index key and its created frame at once: whichever of them a dying process
    // leaves out, the sweeper writes (or, with no record, removes the rest). The queue entry waits for all three,
    // so a worker never finds the record absent nor writes its `working` frame before the log's first.
    await Promise.all([
      this.createKey(record.id, text, what),
      this.putKey(indexKey(record), '', what),
      this.publishFrame(created, frameText),
    ]);
    await this.enqueue(record.target, record.id, String(record.seq));
    // Done: the mark may stay until the slot's next submit overwrites it (a sweeper finding it finds nothing to do).
    // A submit that failed before this line leaves its mark: the sweeper finishes it (the queue entry de-duplicated).
    this.freeSlots.push(slot);
  }

  /**
   * Removes a pending marker's message outright. Not `kv.delete`: that leaves a delete marker on the subject until
   * the bucket's TTL, and the sweeper, which lists the subjects, would read one per submit of the last week.
   */
  private async dropMarker(revision: number): Promise<void> {
    await retrying('erasing a pending marker', this.o.retryWindowMs, async () => {
      try {
        await this.jsm.streams.deleteMessage(kvStreamOf(this.o.bucket), revision, false);
      } catch (err) {
        // Gone already: its own delete (a retry after a lost reply), or the slot's next mark replaced it.
        if (!/no message found|not found|10037/i.test((err as Error).message)) throw err;
      }
    });
  }

  /**
   * Finishes the submits a dead process left half done (a pending mark older than `orphanAfterMs`: a slot of a
   * store that has not submitted through it since, or a `pending.<id>` marker of an earlier version): with
   * its record, the created frame and the queue entry are written (a second queue entry is harmless: a worker skips
   * a task that runs or has ended); without one, its index key and marker are removed (a created frame written
   * beside the record stays in the log until its max age, naming no task). Returns how many it handled.
   */
  sweepOrphans(): Promise<number> {
    this.sweeping ??= this.sweep().finally(() => (this.sweeping = undefined));
    return this.sweeping;
  }

  private async sweep(): Promise<number> {
    let handled = 0;
    for (const key of await this.keysOf(`${PENDING}.>`)) {
      const marker = await this.kv.get(key);
      if (!marker || marker.operation !== 'PUT' || Date.now() - marker.created.getTime() < this.o.orphanAfterMs) continue;
      // One sweeper per orphan: the one whose compare-and-set holds (a slot marked again since is left alone).
      const claimed = await this.kv.update(key, marker.string(), marker.revision).catch(() => 0);
      if (!claimed) continue;
      const id = markedTask(key, marker.string());
      const v = id === undefined ? undefined : await this.get(id);
      if (v) {
        await this.kv.put(indexKey(v.record), '');
        if (v.record.seq === 0 && v.record.state === 'submitted') {
          const last = { last_by_subj: this.frameSubject(v.record.id) };
          const frame = await this.jsm.streams.getMessage(this.o.framesStream, last).catch(() => null);
          if (!frame) await this.appendFrame(createdFrame('task-sweeper', v.record));
          await this.enqueue(v.record.target, v.record.id, String(v.record.seq));
        }
      } else if (id !== undefined) {
        for (const ix of await this.keysOf(`${INDEX}.*.${id}`)) await this.kv.delete(ix);
      }
      await this.dropMarker(claimed);
      handled++;
    }
    return handled;
  }

  async get(id: string): Promise<VersionedTask | undefined> {
    if (!isTaskId(id)) return undefined;
    const e = await retrying(`reading task ${id}`, this.o.retryWindowMs, () => this.kv.get(id));
    if (!e || e.operation !== 'PUT' || e.length === 0) return undefined;
    return { record: e.json<TaskRecord>(), revision: e.revision };
  }

  async update(record: TaskRecord, revision: number): Promise<number | false> {
    const text = this.encode(record);
    return retrying(`updating task ${record.id}`, this.o.retryWindowMs, async (retry) => {
      try {
        return await this.kv.update(record.id, text, revision);
      } catch (err) {
        if (!isCasConflict(err)) throw err;
        const landed = retry ? await this.kv.get(record.id) : undefined;
        return landed && landed.string() === text ? landed.revision : false;
      }
    });
  }

  /**
   * Newest first (ids are UUIDv7s): the index keys of the asked tenant only (all tenants without `tenant_id`), then
   * the records of one page; the cursor is the last id of the previous page.
   */
  async list(query: TaskListQuery): Promise<TaskPage> {
    const limit = pageLimit(query);
    const filter = query.tenant_id === undefined ? `${INDEX}.*.*` : `${INDEX}.${tenantToken(query.tenant_id)}.*`;
    const ids: string[] = [];
    for (const key of await this.keysOf(filter)) {
      const id = key.slice(key.lastIndexOf('.') + 1);
      if (query.cursor === undefined || id < query.cursor) ids.push(id);
    }
    ids.sort((a, b) => (a < b ? 1 : a > b ? -1 : 0));
    const tasks: TaskRecord[] = [];
    // Read in batches, stopping once a page and one more are found (the one more says there is a next page).
    for (let i = 0; i < ids.length && tasks.length <= limit; i += limit + 1) {
      const batch = await Promise.all(ids.slice(i, i + limit + 1).map((id) => this.get(id)));
      for (const v of batch) if (v && matchesQuery(v.record, query) && tasks.length <= limit) tasks.push(v.record);
    }
    if (tasks.length <= limit) return { tasks };
    tasks.length = limit;
    return { tasks, next_cursor: tasks[limit - 1].id };
  }

  private frameSubject(taskId: string): string {
    return taskFrameSubject(this.o.subjectPrefix, taskId);
  }

  async appendFrame(frame: Envelope): Promise<void> {
    await this.publishFrame(frame, JSON.stringify(frame));
  }

  private async publishFrame(frame: Envelope, text: string): Promise<void> {
    await retrying(`storing frame ${frame.seq} of task ${frame.correlation_id}`, this.o.retryWindowMs, () =>
      this.js.publish(this.frameSubject(frame.correlation_id!), text, { msgID: `${frame.correlation_id}.${frame.seq}` }),
    );
  }

  async lastFrameSeq(taskId: string): Promise<number | undefined> {
    const m = await retrying(`reading the log of task ${taskId}`, this.o.retryWindowMs, () =>
      this.jsm.streams.getMessage(this.o.framesStream, { last_by_subj: this.frameSubject(taskId) }),
    );
    return m ? (m.json<Envelope>().seq ?? 0) : undefined;
  }

  /**
   * An ordered consumer of the task's subject, deleted on the server when the follower leaves (break, signal) or
   * the log ends, not left to the server's 5-minute inactivity threshold.
   */
  async *frames(taskId: string, afterSeq: number, signal?: AbortSignal): AsyncIterable<Envelope> {
    if (signal?.aborted) return;
    const prefix = `f_${newEventId().replace(/-/g, '')}`;
    const consumer = await retrying(`following task ${taskId}`, this.o.retryWindowMs, () =>
      this.js.consumers.get(this.o.framesStream, {
        name_prefix: prefix,
        filter_subjects: this.frameSubject(taskId),
        deliver_policy: this.jsLib.DeliverPolicy.All,
      }),
    );
    const messages = await retrying(`following task ${taskId}`, this.o.retryWindowMs, () =>
      consumer.consume({ max_messages: 64, expires: PULL_EXPIRES_MS }),
    );
    const stop = () => void messages.stop();
    signal?.addEventListener('abort', stop, { once: true });
    try {
      if (signal?.aborted) return;
      for await (const m of messages) {
        const frame = m.json<Envelope>();
        if ((frame.seq ?? 0) > afterSeq) yield frame;
        if (frame.is_final) return;
      }
    } finally {
      signal?.removeEventListener('abort', stop);
      messages.stop();
      await this.deleteOrdered(prefix, (consumer as unknown as { serial?: number }).serial ?? 1);
    }
  }

  /** Every server consumer an ordered consumer made (one per reset, `<prefix>_<n>`); the ones already gone are skipped. */
  private async deleteOrdered(prefix: string, serial: number): Promise<void> {
    const names = Array.from({ length: Math.max(1, serial) }, (_, i) => `${prefix}_${i + 1}`);
    await Promise.all(names.map((n) => this.jsm.consumers.delete(this.o.framesStream, n).catch(() => false)));
  }

  /** Server consumers on the frames stream (followers and their leftovers): for tests and health checks. */
  async followerConsumers(): Promise<number> {
    return (await this.jsm.streams.info(this.o.framesStream)).state.consumer_count;
  }

  async enqueue(target: string, taskId: string, key?: string): Promise<void> {
    const opts = key === undefined ? undefined : { msgID: `${taskId}.q${key}` };
    await retrying(`queueing task ${taskId}`, this.o.retryWindowMs, () =>
      this.js.publish(taskQueueSubject(this.o.subjectPrefix, target), taskId, opts),
    );
  }

  async consume(target: string, concurrency: number, run: (d: TaskDelivery) => Promise<void>): Promise<TaskConsumer> {
    const deps = { ...this.o, jsLib: this.jsLib, js: this.js, jsm: this.jsm, onStop: (c: TaskConsumer) => this.consumers.delete(c) };
    const consumer = await consumeQueue(deps, target, concurrency, run);
    this.consumers.add(consumer);
    return consumer;
  }

  async publishCancel(taskId: string): Promise<void> {
    this.nc.publish(taskCancelSubject(this.o.subjectPrefix), taskId);
    await this.nc.flush();
  }

  onCancel(fn: (taskId: string) => void): () => void {
    this.cancelListeners.add(fn);
    return () => this.cancelListeners.delete(fn);
  }
}

/** The task a pending mark names: a slot's `{"id", "target"}`, or the key of an earlier version's `pending.<id>`. */
function markedTask(key: string, value: string): string | undefined {
  const rest = key.slice(PENDING.length + 1);
  if (!rest.includes('.')) return isTaskId(rest) ? rest : undefined;
  try {
    const id = (JSON.parse(value) as { id?: unknown }).id;
    return typeof id === 'string' && isTaskId(id) ? id : undefined;
  } catch {
    return undefined;
  }
}

function indexKey(record: TaskRecord): string {
  return `${INDEX}.${tenantToken(record.tenant_id)}.${record.id}`;
}

/** JetStream's "wrong last sequence": the key exists (create) or changed since the revision named (update). */
function isCasConflict(err: unknown): boolean {
  return /wrong last sequence|10071|key exists/i.test(`${(err as Error)?.message} ${(err as { code?: unknown })?.code ?? ''}`);
}
