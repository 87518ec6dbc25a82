import { deriveTraceIds } from '../protocol/trace-ids.js';
import { isThenable } from '../utils/is-thenable.js';
import { callContextStorage } from '../context/call-context.js';
import { EnvelopeCallContext } from '../context/envelope-call-context.js';
import type { BusError } from '../errors/bus-error.js';
import { toBusError } from '../errors/to-bus-error.js';
import type { BusSubscription } from '../interfaces/bus-subscription.interface.js';
import type { SubscribeOptions } from '../interfaces/call-options.interface.js';
import type { EventHandler } from '../interfaces/handler.interface.js';
import { endSpan, handlerParent, spanAttributes, startHandlerSpan, tracingActive, withSpan } from '../observability/bus-tracing.js';
import type { Envelope } from '../protocol/envelope.js';
import { assertName, assertPattern } from '../protocol/subjects.js';
import { resolveRetry, RetryExecutor } from '../resilience/retry-executor.js';
import type { BusRuntime } from '../runtime/bus-runtime.js';
import type { TransportMessage, TransportSubscription } from '../transport/transport.interface.js';
import { publishDeadLetter } from './dead-letter.js';

const NEVER_ABORTED = new AbortController().signal;

/**
 * Event subscriptions: each event runs its handler in the event's call context (with a span when tracing is on),
 * a failing handler is retried per its policy, and an event whose handler fails for good is dead-lettered.
 */
export class EventDispatcher {
  private readonly subs = new Set<TransportSubscription>();
  /** Event patterns subscribed to at some point (what the bus's NATS permissions must cover). */
  readonly patterns = new Set<string>();

  constructor(private readonly rt: BusRuntime) {}

  /**
   * Subscribes to events matching `pattern` (NATS wildcards `*` and `>`). The handler runs inside the event's
   * call context, so calls it makes carry the event's session. Its errors are logged, never sent back.
   */
  subscribe<P = unknown>(pattern: string, handler: EventHandler<P>, options: SubscribeOptions = {}): BusSubscription {
    this.rt.assertOpen();
    assertPattern(pattern, 'event pattern');
    if (options.queue !== undefined) assertName(options.queue, 'queue group');
    if (this.patterns.size < 1024) this.patterns.add(pattern);
    const sub = this.rt.transport.subscribe(
      this.rt.subjects.event(pattern),
      (msg) => this.deliver(pattern, msg, handler as EventHandler, options),
      {
        queue: options.queue,
      },
    );
    this.subs.add(sub);
    return {
      unsubscribe: () => {
        sub.unsubscribe();
        this.subs.delete(sub);
      },
      ready: this.rt.transport.flush(),
    };
  }

  /** Ends every subscription (the bus is closing). */
  stop(): void {
    for (const sub of this.subs) sub.unsubscribe();
    this.subs.clear();
  }

  private deliver(pattern: string, msg: TransportMessage, handler: EventHandler, options: SubscribeOptions): void {
    const env = msg.envelope;
    if (!env) {
      this.rt.stats.invalidMessages++;
      this.rt.invalidLog.warn(`invalid event on ${msg.subject}: ${msg.error?.message ?? 'no body'}`);
      return;
    }
    this.rt.stats.eventsDelivered++;
    if (env.traceparent) deriveTraceIds(env);
    const started = Date.now();
    const ctx = new EnvelopeCallContext(env, pattern, 'event', NEVER_ABORTED, undefined);
    if (this.rt.options.telemetry && tracingActive()) {
      this.deliverTraced(pattern, msg, handler, options, env, ctx, started);
      return;
    }
    // The fast path: no closure per event, and a synchronous handler that succeeds costs no promise.
    let first: unknown;
    try {
      first = callContextStorage.run(ctx, handler, env.payload, env);
    } catch (err) {
      void this.eventFailed(pattern, msg.subject, env, () => callContextStorage.run(ctx, handler, env.payload, env), options, err).then(
        (error) => this.recordHandled(pattern, started, error),
      );
      return;
    }
    if (isThenable(first)) {
      first.then(
        () => this.recordHandled(pattern, started, undefined),
        (err: unknown) =>
          this.eventFailed(pattern, msg.subject, env, () => callContextStorage.run(ctx, handler, env.payload, env), options, err).then(
            (error) => this.recordHandled(pattern, started, error),
          ),
      );
    } else if (this.rt.metrics) {
      this.recordHandled(pattern, started, undefined);
    }
  }

  private recordHandled(pattern: string, started: number, error: BusError | undefined): void {
    this.rt.metrics?.recordHandled('event', pattern, error ? error.code : 'ok', Date.now() - started);
  }

  /** An event delivered with tracing on: the handler (and its retries) runs inside the event's span. */
  private deliverTraced(
    pattern: string,
    msg: TransportMessage,
    handler: EventHandler,
    options: SubscribeOptions,
    env: Envelope,
    ctx: EnvelopeCallContext,
    started: number,
  ): void {
    const parent = handlerParent(env, ctx.trace.tracestate, ctx.trace.baggage);
    const span = startHandlerSpan('event', pattern, parent, spanAttributes(this.rt.transport.kind, 'process', msg.subject, env, pattern));
    const run = (): unknown => withSpan(parent, span, () => callContextStorage.run(ctx, () => handler(env.payload, env)));
    const done = (error?: BusError) => {
      endSpan(span, error);
      this.recordHandled(pattern, started, error);
    };
    let first: unknown;
    try {
      first = run();
    } catch (err) {
      void this.eventFailed(pattern, msg.subject, env, run, options, err).then(done);
      return;
    }
    if (isThenable(first)) {
      first.then(
        () => done(),
        (err: unknown) => this.eventFailed(pattern, msg.subject, env, run, options, err).then(done),
      );
    } else {
      done();
    }
  }

  /**
   * Retries a failed event handler per its policy; when it fails for good, logs it and dead-letters the event.
   * Resolves with the final error, or undefined when a retry succeeded.
   */
  private async eventFailed(
    pattern: string,
    subject: string,
    env: Envelope,
    run: () => unknown,
    options: SubscribeOptions,
    firstError: unknown,
  ): Promise<BusError | undefined> {
    const policy = resolveRetry(options.retry);
    let attempt = 1;
    let error = toBusError(firstError);
    let cause: unknown = firstError;
    if (policy) {
      const outcome = await new RetryExecutor(policy, this.rt.stats).run(() => run(), { firstFailure: firstError });
      if (outcome.ok) return undefined;
      ({ error, cause, attempts: attempt } = outcome);
    }
    this.rt.stats.handlerErrors++;
    this.rt.logger.error(
      `event handler for "${pattern}" failed on ${env.event_type} after ${attempt} attempt(s): ${(cause as Error)?.message ?? cause}`,
      (cause as Error)?.stack,
    );
    if (options.deadLetter !== false) publishDeadLetter(this.rt, env, error, { attempts: attempt, subject, consumer: pattern });
    return error;
  }
}
