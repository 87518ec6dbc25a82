import type { NatsConnection } from '@nats-io/transport-node';
import { BusError } from '../errors/bus-error.js';
import { ErrorCodes } from '../errors/error-codes.js';
import { encodeEnvelope, decodeEnvelope } from '../protocol/envelope-codec.js';
import type { Envelope } from '../protocol/envelope.js';
import { newEventId } from '../protocol/ids.js';
import { subjectMatches } from '../protocol/subject-match.js';
import type { BusLogger } from '../runtime/bus-logger.js';
import { defaultReplicas, isInsufficientResources } from '../tasks/jetstream-replicas.js';
import { retrying } from '../tasks/jetstream-retry.js';
import { loadPackages } from '../utils/load-package.js';
import type { DurableConsumerHandle, DurableConsumerSpec, DurableDelivery, DurableEventLog } from './durable-log.js';
import { consumeDurable, type Js, type JsClient, type JsManager } from './jetstream-durable-consumer.js';

const NS = 1_000_000;

export interface JetStreamEventLogOptions {
  stream: string;
  subjects: string[];
  retention: 'limits' | 'interest';
  maxAgeMs: number;
  maxBytes: number;
  replicas?: number;
  duplicateWindowMs: number;
  retryWindowMs: number;
}

/**
 * Durable events on a JetStream stream: created with the options when missing, adopted as it is when a stream of
 * that name (or one capturing the bus's event subjects) exists. Publishes carry the envelope's event_id as
 * Nats-Msg-Id, so a retried publish is stored once; they are ordinary messages on the event subjects, so core
 * subscribers (upstream runtimes included) receive them as before.
 */
export class JetStreamEventLog implements DurableEventLog {
  private lib!: Js;
  private js!: JsClient;
  private jsm!: JsManager;
  private captured: string[] = [];
  private readonly consumers = new Set<DurableConsumerHandle>();
  /** Pull failures repeat while a server is away: one warning line per 10 s. */
  private lastWarn = 0;

  constructor(
    private readonly nc: NatsConnection,
    private readonly o: JetStreamEventLogOptions,
    private readonly logger: BusLogger,
  ) {}

  get streamName(): string {
    return this.o.stream;
  }

  async init(): Promise<void> {
    const [lib] = await loadPackages('durable events', [['@nats-io/jetstream', () => import('@nats-io/jetstream')]] as const);
    this.lib = lib;
    const timeout = Math.min(5_000, Math.max(250, Math.floor(this.o.retryWindowMs / 3)));
    try {
      this.jsm = await lib.jetstreamManager(this.nc, { timeout });
      await this.jsm.getAccountInfo();
    } catch (err) {
      throw new BusError(
        ErrorCodes.TRANSPORT_FAILURE,
        `durable events need JetStream, and the NATS server does not offer it (${(err as Error).message}): start nats-server with -js`,
        { retryable: false },
      );
    }
    this.js = lib.jetstream(this.nc, { timeout });
    this.captured = await retrying(`opening stream ${this.o.stream}`, this.o.retryWindowMs, () => this.ensureStream());
  }

  /**
   * The stream's subjects after adopting or creating it: a stream that already captures the first of our subjects
   * (whatever its name) is adopted as it is; otherwise one is made under the configured name, which must be free.
   */
  private async ensureStream(): Promise<string[]> {
    const other = await this.jsm.streams.find(this.o.subjects[0]).catch((err: Error) => {
      if (/no stream matches|not found/i.test(err.message)) return undefined;
      throw err;
    });
    if (other) {
      this.o.stream = other;
      return (await this.jsm.streams.info(other)).config.subjects ?? [];
    }
    const existing = await this.jsm.streams.info(this.o.stream).catch((err: Error) => {
      if (/not found/i.test(err.message)) return undefined;
      throw err;
    });
    if (existing) {
      throw new BusError(
        ErrorCodes.TRANSPORT_FAILURE,
        `durable events: stream ${this.o.stream} exists but does not capture ${this.o.subjects[0]} (its subjects: ${(existing.config.subjects ?? []).join(', ')}): ` +
          'name another stream (durableEvents.stream) or add the subject to it',
        { retryable: false },
      );
    }
    const { RetentionPolicy, StorageType, DiscardPolicy } = this.lib;
    const wanted = this.o.replicas ?? defaultReplicas(this.nc);
    for (let r = wanted; ; r--) {
      try {
        await this.jsm.streams.add({
          name: this.o.stream,
          subjects: this.o.subjects,
          retention: this.o.retention === 'interest' ? RetentionPolicy.Interest : RetentionPolicy.Limits,
          storage: StorageType.File,
          discard: DiscardPolicy.Old,
          max_age: this.o.maxAgeMs * NS,
          max_bytes: this.o.maxBytes,
          num_replicas: r,
          duplicate_window: this.o.duplicateWindowMs * NS,
        });
        if (r < wanted)
          this.logger.warn(`durable events: stream ${this.o.stream} created with ${r} replica(s), the cluster cannot place ${wanted} now`);
        return this.o.subjects;
      } catch (err) {
        if (r <= 1 || !isInsufficientResources(err)) throw err;
      }
    }
  }

  captures(subject: string): boolean {
    return this.captured.some((s) => subjectMatches(s, subject));
  }

  async publish(subject: string, envelope: Envelope, msgId = envelope.event_id): Promise<{ seq: number; duplicate: boolean }> {
    if (!this.captures(subject)) {
      throw new BusError(
        ErrorCodes.INVALID_REQUEST,
        `durable publish to ${subject}: stream ${this.o.stream} does not capture it (its subjects: ${this.captured.join(', ')})`,
      );
    }
    const text = encodeEnvelope(envelope);
    const ack = await retrying(`publishing event ${envelope.event_id}`, this.o.retryWindowMs, () =>
      this.js.publish(subject, text, { msgID: msgId }),
    );
    return { seq: ack.seq, duplicate: ack.duplicate };
  }

  async consume(spec: DurableConsumerSpec, run: (d: DurableDelivery) => Promise<void>): Promise<DurableConsumerHandle> {
    const handle = await consumeDurable(
      { lib: this.lib, js: this.js, jsm: this.jsm, stream: this.o.stream, retryWindowMs: this.o.retryWindowMs },
      spec,
      run,
      (err) => {
        if (Date.now() - this.lastWarn < 10_000) return;
        this.lastWarn = Date.now();
        this.logger.warn(`durable consumer ${spec.name}: pulling failed (${err.message}); pulling again`);
      },
    );
    this.consumers.add(handle);
    return {
      stop: async () => {
        this.consumers.delete(handle);
        await handle.stop();
      },
    };
  }

  async replay(filter: string, from: Date, to: Date, each: (subject: string, env: Envelope) => Promise<void> | void): Promise<number> {
    const last = (await this.jsm.streams.info(this.o.stream)).state.last_seq;
    const prefix = `r_${newEventId().replace(/-/g, '')}`;
    const consumer = await this.js.consumers.get(this.o.stream, {
      name_prefix: prefix,
      filter_subjects: filter,
      deliver_policy: this.lib.DeliverPolicy.StartTime,
      opt_start_time: from.toISOString(),
    });
    let n = 0;
    try {
      for (;;) {
        const batch = await consumer.fetch({ max_messages: 256, expires: 1_000 });
        let got = 0;
        for await (const m of batch) {
          got++;
          if (m.time.getTime() > to.getTime() || m.seq > last) return n;
          await each(m.subject, decodeEnvelope(m.data));
          n++;
          if (m.seq >= last || m.info.pending === 0) return n;
        }
        if (got === 0) return n;
      }
    } finally {
      const serial = (consumer as unknown as { serial?: number }).serial ?? 1;
      await Promise.all(
        Array.from({ length: Math.max(1, serial) }, (_, i) =>
          this.jsm.consumers.delete(this.o.stream, `${prefix}_${i + 1}`).catch(() => false),
        ),
      );
    }
  }

  async close(): Promise<void> {
    await Promise.all([...this.consumers].map((c) => c.stop()));
    this.consumers.clear();
  }
}
