import type { Span } from '@opentelemetry/api';
import { endSpan, handlerParent, spanAttributes, startHandlerSpan, tracingActive, withSpan } from '../observability/bus-tracing.js';
import { deriveTraceIds } from '../protocol/trace-ids.js';
import { callContextStorage } from '../context/call-context.js';
import { EnvelopeCallContext } from '../context/envelope-call-context.js';
import { BusError } from '../errors/bus-error.js';
import { ErrorCodes } from '../errors/error-codes.js';
import { toBusError } from '../errors/to-bus-error.js';
import type { BusSubscription } from '../interfaces/bus-subscription.interface.js';
import type { SubscribeOptions } from '../interfaces/call-options.interface.js';
import type { EventHandler } from '../interfaces/handler.interface.js';
import type { Envelope } from '../protocol/envelope.js';
import { assertPattern, isPublishableSubject } from '../protocol/subjects.js';
import { DEFAULT_RETRY, retryDelay, type RetryPolicy } from '../resilience/retry-policy.js';
import { deadLetterEnvelope, publishDeadLetter } from '../responder/dead-letter.js';
import type { BusRuntime } from '../runtime/bus-runtime.js';
import { MemoryTransport } from '../transport/memory/memory-transport.js';
import { NatsTransport } from '../transport/nats/nats-transport.js';
import type { DurableConsumerHandle, DurableDelivery, DurableEventLog } from './durable-log.js';
import type { ReplayOptions } from './durable-options.js';
import { JetStreamEventLog } from './jetstream-event-log.js';
import { MemoryEventLog } from './memory-event-log.js';

const NEVER_ABORTED = new AbortController().signal;
const DURABLE_NAME = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * The durable side of a bus's events (docs/events.md): publishes that wait for the log's acknowledgement,
 * subscriptions through named consumers (ack on success, nak with the retry policy's backoff on a throw, dead
 * letter after the last attempt), and replays of a time window. The log is opened on first use.
 */
export class DurableEvents {
  private log?: Promise<DurableEventLog>;
  private readonly consumers = new Set<Promise<DurableConsumerHandle | undefined>>();
  /** Every durable name this bus has subscribed with (for its NATS permissions, docs/security.md). */
  readonly consumerNames = new Set<string>();

  constructor(private readonly rt: BusRuntime) {}

  private open(): Promise<DurableEventLog> {
    this.log ??= this.openLog();
    return this.log;
  }

  private async openLog(): Promise<DurableEventLog> {
    const o = this.rt.options.durableEvents ?? {};
    const subjects = o.subjects ?? [this.rt.subjects.event('>'), this.rt.subjects.deadLetter('>')];
    const t = this.rt.transport;
    if (t instanceof MemoryTransport) {
      return MemoryEventLog.of(t.broker, {
        subjects,
        maxMessages: o.memoryMaxMessages ?? 10_000,
        duplicateWindowMs: o.duplicateWindowMs ?? 120_000,
      });
    }
    if (t instanceof NatsTransport && t.connection) {
      const log = new JetStreamEventLog(
        t.connection,
        {
          stream: o.stream ?? defaultEventStreamName(this.rt.options.tenant),
          subjects,
          retention: o.retention ?? 'limits',
          maxAgeMs: o.maxAgeMs ?? 7 * 24 * 3600 * 1000,
          maxBytes: o.maxBytes ?? -1,
          replicas: o.replicas,
          duplicateWindowMs: o.duplicateWindowMs ?? 120_000,
          retryWindowMs: o.retryWindowMs ?? 20_000,
        },
        this.rt.logger,
      );
      await log.init();
      return log;
    }
    throw new BusError(ErrorCodes.TRANSPORT_FAILURE, `durable events need a connected memory or NATS transport, not ${t.kind}`, {
      retryable: false,
    });
  }

  /** Stores `env` on its event subject and resolves once the log has it (a repeat of its event_id is stored once). */
  async publish(env: Envelope): Promise<void> {
    const log = await this.open();
    await log.publish(this.rt.subjects.event(env.event_type), env);
  }

  subscribe(pattern: string, handler: EventHandler, options: SubscribeOptions): BusSubscription {
    this.rt.assertOpen();
    assertPattern(pattern, 'event pattern');
    const name = options.durable!;
    if (!DURABLE_NAME.test(name)) {
      throw new BusError(ErrorCodes.INVALID_REQUEST, `durable name "${name}": use 1 to 64 letters, digits, "_" or "-"`);
    }
    if (options.queue !== undefined) {
      throw new BusError(
        ErrorCodes.INVALID_REQUEST,
        'a durable subscription takes no queue group: replicas with the same durable name share the events',
      );
    }
    const policy: RetryPolicy = { ...DEFAULT_RETRY, ...(options.retry ?? {}) };
    const ackWaitMs = options.ackWaitMs ?? 30_000;
    this.consumerNames.add(name);
    const spec = {
      name,
      filter: this.rt.subjects.event(pattern),
      deliverFrom: options.deliverFrom ?? 'new',
      concurrency: Math.max(1, options.concurrency ?? 1),
      ackWaitMs,
    };
    let stopped = false;
    // One ticker per subscription keeps every event in flight alive (a progress ack each third of the ack wait),
    // so a handler running past the ack wait is not handed to another replica meanwhile.
    const running = new Set<DurableDelivery>();
    const ticker = setInterval(
      () => {
        for (const d of running) d.working();
      },
      Math.max(50, Math.floor(ackWaitMs / 3)),
    );
    ticker.unref();
    const started = this.open().then(async (log) => {
      const h = await log.consume(spec, async (d) => {
        running.add(d);
        try {
          await this.handle(log, name, pattern, handler, options, policy, d, running);
        } finally {
          running.delete(d);
        }
      });
      if (stopped) {
        await h.stop();
        return undefined;
      }
      return h;
    });
    this.consumers.add(started);
    started.catch(() => {
      this.consumers.delete(started);
      clearInterval(ticker);
    });
    return {
      unsubscribe: () => {
        stopped = true;
        clearInterval(ticker);
        this.consumers.delete(started);
        void started.then((h) => h?.stop()).catch(() => undefined);
      },
      ready: started.then(() => undefined),
    };
  }

  private async handle(
    log: DurableEventLog,
    name: string,
    pattern: string,
    handler: EventHandler,
    options: SubscribeOptions,
    policy: RetryPolicy,
    d: DurableDelivery,
    running: Set<DurableDelivery>,
  ): Promise<void> {
    const env = d.envelope;
    this.rt.stats.eventsDelivered++;
    const started = Date.now();
    if (env.traceparent) deriveTraceIds(env);
    const ctx = new EnvelopeCallContext(env, pattern, 'event', NEVER_ABORTED, undefined);
    let run = (): unknown => callContextStorage.run(ctx, () => handler(env.payload, env));
    let span: Span | undefined;
    if (this.rt.options.telemetry && tracingActive()) {
      // The same span as a core subscriber's, so a trace shows the handling whichever way the event came.
      const parent = handlerParent(env, ctx.trace.tracestate, ctx.trace.baggage);
      const s = startHandlerSpan('event', pattern, parent, spanAttributes(this.rt.transport.kind, 'process', d.subject, env, pattern));
      const inner = run;
      run = () => withSpan(parent, s, inner);
      span = s;
    }
    let err: unknown;
    let failed = false;
    try {
      await run();
    } catch (e) {
      failed = true;
      err = e;
    }
    running.delete(d);
    if (!failed) {
      if (span) endSpan(span);
      this.rt.metrics?.recordHandled('event', pattern, 'ok', Date.now() - started);
      // A lost ack (the connection closing) is not the handler's failure: the event comes back after the ack wait.
      await d.ack().catch(() => undefined);
      return;
    }
    const error = toBusError(err);
    if (span) endSpan(span, error);
    this.rt.metrics?.recordHandled('event', pattern, error.code, Date.now() - started);
    const attempts = policy.attempts ?? DEFAULT_RETRY.attempts;
    const again = policy.retryOn ? policy.retryOn.includes(error.code) : true;
    if (again && d.deliveryCount < attempts) {
      this.rt.stats.retries++;
      d.nak(retryDelay(d.deliveryCount + 1, policy));
      return;
    }
    this.rt.stats.handlerErrors++;
    this.rt.logger.error(
      `durable event handler "${name}" for "${pattern}" failed on ${env.event_type} (seq ${d.seq}) after ${d.deliveryCount} attempt(s): ${(err as Error)?.message ?? err}`,
      (err as Error)?.stack,
    );
    if (options.deadLetter !== false) await this.deadLetter(log, env, error, d, name);
    d.term();
  }

  /** Into the log when it captures dead letters (stored once per consumer and event), else as a core publish. */
  private async deadLetter(log: DurableEventLog, env: Envelope, error: BusError, d: DurableDelivery, name: string): Promise<void> {
    const info = { attempts: d.deliveryCount, subject: d.subject, consumer: name };
    const subject = this.rt.subjects.deadLetter(env.event_type);
    if (!log.captures(subject) || !isPublishableSubject(subject)) {
      publishDeadLetter(this.rt, env, error, info);
      return;
    }
    try {
      await log.publish(subject, deadLetterEnvelope(this.rt, env, error, info), `dlq.${name}.${env.event_id}`);
      this.rt.stats.deadLetters++;
    } catch (err) {
      this.rt.logger.error(`could not dead-letter ${env.event_id} durably (${(err as Error).message}); publishing it on core NATS`);
      publishDeadLetter(this.rt, env, error, info);
    }
  }

  /** Hands the stored events on `pattern` between `from` and `to` to `handler`, in order; live consumers are untouched. */
  async replay(pattern: string, options: ReplayOptions, handler: EventHandler): Promise<number> {
    this.rt.assertOpen();
    assertPattern(pattern, 'event pattern');
    const log = await this.open();
    return log.replay(this.rt.subjects.event(pattern), options.from, options.to ?? new Date(), (_s, env) => {
      const ctx = new EnvelopeCallContext(env, pattern, 'event', NEVER_ABORTED, undefined);
      return callContextStorage.run(ctx, () => handler(env.payload, env)) as Promise<void> | void;
    });
  }

  async close(): Promise<void> {
    const handles = await Promise.all([...this.consumers].map((c) => c.catch(() => undefined)));
    this.consumers.clear();
    await Promise.all(handles.map((h) => h?.stop()));
  }
}

/** `ACP_EVENTS`, or `ACP_EVENTS_<tenant>` for a tenant's bus (its events are under their own subjects). */
export function defaultEventStreamName(tenant: string | undefined): string {
  return tenant ? `ACP_EVENTS_${tenant.replace(/[^A-Za-z0-9_-]/g, '_')}` : 'ACP_EVENTS';
}
