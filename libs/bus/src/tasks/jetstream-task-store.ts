import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import { BusError } from '../errors/bus-error.js';
import { ErrorCodes } from '../errors/error-codes.js';
import type { Envelope } from '../protocol/envelope.js';
import { consoleBusLogger, type BusLogger } from '../runtime/bus-logger.js';
import { loadPackage } from '../utils/load-package.js';
import { defaultReplicas, isInsufficientResources, raiseReplicas } from './jetstream-replicas.js';
import { DEFAULT_RETRY_WINDOW_MS, retrying } from './jetstream-retry.js';
import type { TaskConsumer, TaskDelivery, TaskStore, VersionedTask } from './task-store.interface.js';
import { pageOf } from './task-paging.js';
import type { TaskListQuery, TaskPage, TaskRecord } from './task.types.js';

/** Names and limits of the JetStream resources tasks live in. */
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
  /** How long records and frames are kept (ms). Default 7 days. */
  maxAgeMs?: number;
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
}

type Js = typeof import('@nats-io/jetstream');
type Kv = typeof import('@nats-io/kv');
type KvStore = Awaited<ReturnType<InstanceType<Kv['Kvm']>['create']>>;
type JsClient = ReturnType<Js['jetstream']>;
type JsManager = Awaited<ReturnType<Js['jetstreamManager']>>;

const NS = 1_000_000;

/**
 * Tasks on NATS JetStream: records in a KV bucket (compare-and-set by revision), frames in a stream with one
 * subject per task (read back with an ordered consumer from any seq), and queued runs in a work-queue stream with a
 * durable pull consumer per target: a run is acknowledged only once its outcome is stored, so a worker that dies
 * leaves it to be delivered again after `ackWaitMs`.
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

  constructor(
    private readonly nc: NatsConnection,
    options: JetStreamTaskStoreOptions = {},
    private readonly logger: BusLogger = consoleBusLogger,
  ) {
    this.o = {
      bucket: options.bucket ?? 'acp_tasks',
      framesStream: options.framesStream ?? 'ACP_TASK_FRAMES',
      queueStream: options.queueStream ?? 'ACP_TASK_QUEUE',
      subjectPrefix: options.subjectPrefix ?? 'acp.tasks',
      ackWaitMs: options.ackWaitMs ?? 30_000,
      maxAgeMs: options.maxAgeMs ?? 7 * 24 * 3600 * 1000,
      replicas: options.replicas,
      retryWindowMs: options.retryWindowMs ?? DEFAULT_RETRY_WINDOW_MS,
    };
  }

  get ackWaitMs(): number {
    return this.o.ackWaitMs;
  }

  /** The replicas the streams and bucket are meant to have (the option, or what the cluster holds). */
  get replicas(): number {
    return this.o.replicas ?? defaultReplicas(this.nc);
  }

  async init(): Promise<void> {
    this.jsLib = await loadPackage('@nats-io/jetstream', 'TasksModule (store: jetstream)', () => import('@nats-io/jetstream'));
    const kvLib = await loadPackage('@nats-io/kv', 'TasksModule (store: jetstream)', () => import('@nats-io/kv'));
    try {
      this.jsm = await this.jsLib.jetstreamManager(this.nc);
      await this.jsm.getAccountInfo();
    } catch (err) {
      throw new BusError(
        ErrorCodes.TRANSPORT_FAILURE,
        `tasks need JetStream, and the NATS server does not offer it (${(err as Error).message}): start nats-server with -js ` +
          '(or a `jetstream { store_dir: … }` block in its configuration), or use TasksModule with store: "memory"',
        { retryable: false },
      );
    }
    this.js = this.jsLib.jetstream(this.nc);
    const { RetentionPolicy, StorageType } = this.jsLib;
    const p = this.o.subjectPrefix;
    const replicas = this.replicas;
    await this.ensureStream({
      name: this.o.framesStream,
      subjects: [`${p}.frames.*`],
      retention: RetentionPolicy.Limits,
      storage: StorageType.File,
      max_age: this.o.maxAgeMs * NS,
      num_replicas: replicas,
      duplicate_window: 120 * 1_000_000_000,
    });
    await this.ensureStream({
      name: this.o.queueStream,
      subjects: [`${p}.queue.>`],
      retention: RetentionPolicy.Workqueue,
      storage: StorageType.File,
      max_age: this.o.maxAgeMs * NS,
      num_replicas: replicas,
      duplicate_window: 120 * 1_000_000_000,
    });
    this.kv = await this.openBucket(kvLib, replicas);
    this.cancelSub = this.nc.subscribe(`${p}.cancel`, {
      callback: (_e, m) => {
        const id = m.string();
        for (const fn of this.cancelListeners) fn(id);
      },
    });
  }

  /**
   * Opens (or creates) the bucket with `replicas`, fewer when the cluster cannot place them now (a warning says so;
   * the next start raises them). On a cluster, reads go to the stream's leader (no direct get): a lagging replica
   * would answer "no such task" for one just written.
   */
  private async openBucket(kvLib: Kv, replicas: number): Promise<KvStore> {
    const kvm = new kvLib.Kvm(this.nc);
    const opts = { history: 1, ttl: this.o.maxAgeMs, ...(replicas > 1 ? { allow_direct: false } : {}) };
    for (let r = replicas; ; r--) {
      try {
        const kv = await kvm.create(this.o.bucket, { ...opts, replicas: r });
        if (r < replicas)
          this.logger.warn(`tasks: bucket ${this.o.bucket} created with ${r} replica(s): the cluster cannot place ${replicas} now`);
        else await raiseReplicas(this.jsm, `KV_${this.o.bucket}`, replicas, this.logger);
        return kv;
      } catch (err) {
        if (r <= 1 || !isInsufficientResources(err)) throw err;
      }
    }
  }

  /**
   * Creates or updates a stream (keeping replicas an operator raised, raising fewer), then reads its configuration
   * back: an older server ignores options it does not know.
   */
  private async ensureStream(cfg: Record<string, unknown> & { name: string; retention: string; num_replicas: number }): Promise<void> {
    const wanted = cfg.num_replicas;
    let existing: number | undefined;
    try {
      existing = (await this.jsm.streams.info(cfg.name)).config.num_replicas ?? 1;
    } catch (err) {
      if (!/not found/i.test((err as Error).message)) throw err;
    }
    if (existing !== undefined) {
      await this.jsm.streams.update(cfg.name, { ...cfg, num_replicas: existing } as never);
      await raiseReplicas(this.jsm, cfg.name, wanted, this.logger);
    } else {
      for (let r = wanted; ; r--) {
        try {
          await this.jsm.streams.add({ ...cfg, num_replicas: r } as never);
          if (r < wanted)
            this.logger.warn(`tasks: stream ${cfg.name} created with ${r} replica(s): the cluster cannot place ${wanted} now`);
          break;
        } catch (err) {
          if (r <= 1 || !isInsufficientResources(err)) throw err;
        }
      }
    }
    const info = await this.jsm.streams.info(cfg.name);
    if (info.config.retention !== cfg.retention) {
      throw new BusError(
        ErrorCodes.TRANSPORT_FAILURE,
        `stream ${cfg.name} has retention ${info.config.retention}, tasks need ${cfg.retention}`,
        {
          retryable: false,
        },
      );
    }
  }

  async close(): Promise<void> {
    for (const c of [...this.consumers]) await c.stop();
    this.cancelSub?.unsubscribe();
  }

  // Every write below may be retried after a failure that left its outcome unknown (a lost reply during an
  // election): a record write is then read back and counts as done when it holds exactly what was written, and
  // stream publishes carry a message id the stream de-duplicates on.

  async create(record: TaskRecord): Promise<number> {
    const body = JSON.stringify(record);
    return retrying(`storing task ${record.id}`, this.o.retryWindowMs, async (retry) => {
      try {
        return await this.kv.create(record.id, body);
      } catch (err) {
        const landed = retry && isCasConflict(err) ? await this.kv.get(record.id) : undefined;
        if (landed && landed.string() === body) return landed.revision;
        throw err;
      }
    });
  }

  async get(id: string): Promise<VersionedTask | undefined> {
    const e = await retrying(`reading task ${id}`, this.o.retryWindowMs, () => this.kv.get(id));
    if (!e || e.operation !== 'PUT' || e.length === 0) return undefined;
    return { record: e.json<TaskRecord>(), revision: e.revision };
  }

  async update(record: TaskRecord, revision: number): Promise<number | false> {
    const body = JSON.stringify(record);
    return retrying(`updating task ${record.id}`, this.o.retryWindowMs, async (retry) => {
      try {
        return await this.kv.update(record.id, body, revision);
      } catch (err) {
        if (!isCasConflict(err)) throw err;
        const landed = retry ? await this.kv.get(record.id) : undefined;
        return landed && landed.string() === body ? landed.revision : false;
      }
    });
  }

  async list(query: TaskListQuery): Promise<TaskPage> {
    const keys = await retrying('listing tasks', this.o.retryWindowMs, async () => {
      const out: string[] = [];
      for await (const key of await this.kv.keys()) out.push(key);
      return out;
    });
    const records: TaskRecord[] = [];
    for (const key of keys) {
      const v = await this.get(key);
      if (v) records.push(v.record);
    }
    return pageOf(records, query);
  }

  async appendFrame(frame: Envelope): Promise<void> {
    const body = JSON.stringify(frame);
    await retrying(`storing frame ${frame.seq} of task ${frame.correlation_id}`, this.o.retryWindowMs, () =>
      this.js.publish(`${this.o.subjectPrefix}.frames.${frame.correlation_id}`, body, { msgID: `${frame.correlation_id}.${frame.seq}` }),
    );
  }

  async *frames(taskId: string, afterSeq: number, signal?: AbortSignal): AsyncIterable<Envelope> {
    const messages = await retrying(`following task ${taskId}`, this.o.retryWindowMs, async () => {
      const consumer = await this.js.consumers.get(this.o.framesStream, {
        filter_subjects: `${this.o.subjectPrefix}.frames.${taskId}`,
        deliver_policy: this.jsLib.DeliverPolicy.All,
      });
      return consumer.consume();
    });
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
    }
  }

  async enqueue(target: string, taskId: string, key?: string): Promise<void> {
    const opts = key === undefined ? undefined : { msgID: `${taskId}.q${key}` };
    await retrying(`queueing task ${taskId}`, this.o.retryWindowMs, () =>
      this.js.publish(`${this.o.subjectPrefix}.queue.${target}`, taskId, opts),
    );
  }

  async consume(target: string, concurrency: number, run: (d: TaskDelivery) => Promise<void>): Promise<TaskConsumer> {
    const durable = `tasks_${target.replace(/[^A-Za-z0-9_-]/g, '_')}`;
    const config = {
      durable_name: durable,
      ack_policy: this.jsLib.AckPolicy.Explicit,
      filter_subject: `${this.o.subjectPrefix}.queue.${target}`,
      ack_wait: this.o.ackWaitMs * NS,
      max_deliver: -1,
    };
    try {
      await this.jsm.consumers.add(this.o.queueStream, config);
    } catch (err) {
      if (!/already (exists|in use)/i.test((err as Error).message)) await this.jsm.consumers.update(this.o.queueStream, durable, config);
    }
    const info = await this.jsm.consumers.info(this.o.queueStream, durable);
    if (info.config.ack_wait !== config.ack_wait) {
      throw new BusError(
        ErrorCodes.TRANSPORT_FAILURE,
        `consumer ${durable} kept ack_wait ${(info.config.ack_wait ?? 0) / NS} ms, not ${this.o.ackWaitMs} ms`,
        {
          retryable: false,
        },
      );
    }
    const c = await this.js.consumers.get(this.o.queueStream, durable);
    const messages = await c.consume({ max_messages: concurrency });
    let active = 0;
    let stopped = false;
    let room: (() => void) | undefined;
    const loop = (async () => {
      for await (const m of messages) {
        active++;
        let acked = false;
        const delivery: TaskDelivery = {
          taskId: m.string(),
          deliveryCount: m.info.deliveryCount,
          working: () => m.working(),
          keepAliveMs: Math.max(100, Math.floor(this.o.ackWaitMs / 3)),
          ack: async () => {
            if (acked) return;
            acked = true;
            // Unacknowledged, the entry comes back after ackWaitMs and finds the task ended: retried, not lost.
            await retrying(`acknowledging task ${m.string()}`, this.o.retryWindowMs, () => m.ackAck()).catch(() => false);
          },
        };
        void run(delivery)
          .catch(() => undefined)
          .finally(() => {
            active--;
            room?.();
          });
        // Hold the iteration (and so the pulls) while `concurrency` runs are in progress.
        while (active >= concurrency && !stopped) await new Promise<void>((r) => (room = r));
        if (stopped) break;
      }
    })();
    const consumer: TaskConsumer = {
      stop: async () => {
        stopped = true;
        this.consumers.delete(consumer);
        messages.stop();
        room?.();
        await loop.catch(() => undefined);
      },
    };
    this.consumers.add(consumer);
    return consumer;
  }

  async publishCancel(taskId: string): Promise<void> {
    this.nc.publish(`${this.o.subjectPrefix}.cancel`, taskId);
    await this.nc.flush();
  }

  onCancel(fn: (taskId: string) => void): () => void {
    this.cancelListeners.add(fn);
    return () => this.cancelListeners.delete(fn);
  }
}

/** JetStream's "wrong last sequence": the key exists (create) or changed since the revision named (update). */
function isCasConflict(err: unknown): boolean {
  return /wrong last sequence|10071|key exists/i.test(`${(err as Error)?.message} ${(err as { code?: unknown })?.code ?? ''}`);
}
