import type { Span } from '@opentelemetry/api';
import { callContextStorage, type CallContext } from '../context/call-context.js';
import { EnvelopeCallContext } from '../context/envelope-call-context.js';
import { DirectInvokeServer } from '../direct/direct-invoke-server.js';
import { BusError } from '../errors/bus-error.js';
import { ErrorCodes } from '../errors/error-codes.js';
import { EndpointCounters } from '../discovery/endpoint-counters.js';
import { aboutOf } from '../discovery/served-endpoint.js';
import {
  callerGoneError,
  cancelledByCallerError,
  concurrencyLimitError,
  countsAsFailure,
  deadlinePassedError,
} from '../errors/handler-failures.js';
import type { BusSubscription } from '../interfaces/bus-subscription.interface.js';
import type { HandlerOptions } from '../interfaces/call-options.interface.js';
import type { InvokeHandler, StreamHandler } from '../interfaces/handler.interface.js';
import { endSpan, handlerParent, spanAttributes, startHandlerSpan, tracingActive, withSpan } from '../observability/bus-tracing.js';
import { EventTypes, type Envelope } from '../protocol/envelope.js';
import { ControlEventTypes, Extensions, MetaKeys, parseExtensions } from '../protocol/extensions.js';
import { assertName, describeSubject, isPublishableSubject } from '../protocol/subjects.js';
import { resolveRetry, RetryExecutor } from '../resilience/retry-executor.js';
import type { BusRuntime } from '../runtime/bus-runtime.js';
import type { ControlChannel } from '../runtime/control-channel.js';
import { cancelDeadline, scheduleDeadline, type DeadlineSlot, type Expiring } from '../timers/deadline-wheel.js';
import { livenessTicker } from '../timers/liveness-ticker.js';
import type { TransportMessage, TransportSubscription } from '../transport/transport.interface.js';
import { LazyAbort } from '../utils/lazy-abort.js';
import { grantCredit, initialCredit } from './flow-credit.js';
import { invokePayload } from './frame-values.js';
import { deriveTraceIds } from '../protocol/trace-ids.js';
import type { Inflight } from './inflight.js';
import type { Registration } from './registration.js';
import { ReplySender } from './reply-sender.js';
import { HandlerDeadline } from './handler-deadline.js';
import { StreamCallContext } from './stream-call-context.js';
import { StreamRunner } from './stream-runner.js';
import { untilAborted } from './until-aborted.js';

/** Where a drained bus's request subscription was. */
const NOT_SUBSCRIBED: TransportSubscription = { subject: '', unsubscribe() {} };

/**
 * The serving half of a bus: registers invoke/stream targets on their subjects (queue group = target),
 * runs handlers inside their call context with a deadline- and cancel-driven AbortSignal, numbers stream
 * frames without gaps, honours flow-control credit, and answers bad requests with INVALID_REQUEST.
 */
export class Responder {
  private readonly registrations = new Map<string, Registration>();
  private readonly inflight = new Map<string, Inflight>();
  /** Serves invoke handlers to callers in this process without messages (memory transport). */
  private readonly direct: DirectInvokeServer;
  private livenessTimer?: NodeJS.Timeout;
  /** Per-target counters for discovery's STATS; off, a request costs nothing more. */
  private readonly counting: boolean;
  private drained = false;
  /** Told when a target is registered or removed (discovery announces it). */
  onTargetsChanged?: () => void;

  private readonly replies: ReplySender;
  private readonly streams: StreamRunner;

  constructor(
    private readonly bus: BusRuntime,
    private readonly control: ControlChannel,
  ) {
    this.direct = new DirectInvokeServer(bus);
    this.counting = bus.options.discovery !== undefined;
    this.replies = new ReplySender(bus);
    this.streams = new StreamRunner(bus, this.replies, (call) => this.controlSubject(call));
  }

  start(): void {
    const every = this.bus.options.livenessInterval;
    this.livenessTimer = livenessTicker(every, (now, stalled) => this.checkLiveness(every, now, stalled));
  }

  stop(): void {
    if (this.livenessTimer) clearInterval(this.livenessTimer);
    for (const reg of this.registrations.values()) {
      reg.live = false;
      for (const s of reg.subs) s.unsubscribe();
    }
    this.registrations.clear();
    this.onTargetsChanged?.();
    const reason = new BusError(ErrorCodes.AGENT_UNAVAILABLE, 'responder is shutting down');
    for (const call of this.inflight.values()) call.abort.abort(reason);
    this.direct.stop(reason);
  }

  /**
   * Stops taking requests: every target's request subscription goes (its queue group's other members get the
   * calls), while the calls in flight run to their end and can still be cancelled. `resume()` subscribes again.
   */
  drain(): void {
    if (this.drained) return;
    this.drained = true;
    for (const reg of this.registrations.values()) {
      reg.subs[0].unsubscribe();
      reg.subs[0] = NOT_SUBSCRIBED;
    }
  }

  resume(): void {
    if (!this.drained) return;
    this.drained = false;
    for (const reg of this.registrations.values()) reg.subs[0] = this.subscribeRequests(reg);
  }

  get isDrained(): boolean {
    return this.drained;
  }

  private subscribeRequests(reg: Registration): TransportSubscription {
    // Invoke handlers can also be handed a call straight from a caller in this process (memory transport);
    // handler-side retries stay on the message path.
    const direct = reg.kind === 'invoke' && !reg.retry ? this.direct.endpointFor(reg) : undefined;
    return this.bus.transport.subscribe(reg.subject, (m) => this.onRequest(reg, m), { queue: reg.queue, direct });
  }

  /** Handler executions in flight. */
  get inflightCount(): number {
    return this.inflight.size + this.direct.inflightCount;
  }

  targets(): string[] {
    return [...this.registrations.keys()];
  }

  /** The registrations, in registration order (what discovery lists). */
  served(): Iterable<Registration> {
    return this.registrations.values();
  }

  register(target: string, kind: 'invoke' | 'stream', handler: InvokeHandler | StreamHandler, options: HandlerOptions): BusSubscription {
    assertName(target, `${kind} target`);
    if (typeof handler !== 'function') throw new BusError(ErrorCodes.INVALID_REQUEST, `handler for "${target}" must be a function`);
    if (this.registrations.has(target)) {
      throw new BusError(ErrorCodes.INVALID_REQUEST, `target "${target}" already has a handler on this bus`);
    }
    const queue = options.queue ?? target;
    assertName(queue, 'queue group');
    const subject = this.bus.subjects.invoke(target);
    const reg: Registration = {
      target,
      kind,
      subject,
      queue,
      about: aboutOf(options),
      counters: this.counting ? new EndpointCounters() : undefined,
      handler,
      concurrency: options.concurrency && options.concurrency > 0 ? options.concurrency : Infinity,
      timeout: options.timeout && options.timeout > 0 ? options.timeout : undefined,
      retry: options.retry ? new RetryExecutor(resolveRetry(options.retry)!, this.bus.stats) : undefined,
      deferStarted: options.deferStarted === true,
      active: 0,
      live: true,
      subs: [],
    };
    const transport = this.bus.transport;
    // subs[0] is the request subscription (dropped while the bus is drained), subs[1] the cancel broadcasts.
    reg.subs.push(this.drained ? NOT_SUBSCRIBED : this.subscribeRequests(reg));
    reg.subs.push(transport.subscribe(this.bus.subjects.cancel(target), (m) => this.onBroadcastCancel(m)));
    this.registrations.set(target, reg);
    this.onTargetsChanged?.();
    return {
      ready: transport.flush(),
      unsubscribe: () => {
        if (this.registrations.get(target) !== reg) return;
        reg.live = false;
        for (const s of reg.subs) s.unsubscribe();
        this.registrations.delete(target);
        this.onTargetsChanged?.();
      },
    };
  }

  // ------------------------------------------------------------------ requests

  private onRequest(reg: Registration, msg: TransportMessage): void {
    const env = msg.envelope;
    if (!env) {
      this.invalidRequest(reg, msg, msg.error ?? new BusError(ErrorCodes.CODEC_FAILURE, 'undecodable request'));
      return;
    }
    const replyTo = env.reply_to || msg.reply;
    if (!isPublishableSubject(replyTo)) {
      // Never publish to it: an oversize reply subject would make the server drop this connection.
      const why = `request ${env.event_id} for "${reg.target}" has an unusable reply_to (${describeSubject(replyTo)})`;
      this.invalidRequest(reg, msg, new BusError(ErrorCodes.INVALID_REQUEST, why), env);
      return;
    }
    if (env.event_type !== EventTypes.REQUEST) {
      const why = `unexpected event_type "${env.event_type}" on invoke subject ${msg.subject}`;
      this.invalidRequest(reg, msg, new BusError(ErrorCodes.INVALID_REQUEST, why), env);
      return;
    }
    if (reg.active >= reg.concurrency) {
      const error = concurrencyLimitError(reg.target, reg.concurrency);
      reg.counters?.record(0, error);
      this.replies.error(env, replyTo, error, 0);
      this.bus.metrics?.recordHandled(reg.kind, reg.target, ErrorCodes.BACKPRESSURE_DROP, 0);
      this.bus.audit?.served(reg.kind, reg.target, env, error, 0);
      return;
    }
    const ext = parseExtensions(env.metadata?.[MetaKeys.EXT]);
    if (env.traceparent) deriveTraceIds(env);
    const now = Date.now();
    let deadline: number | undefined;
    const rawDeadline = env.metadata?.[MetaKeys.DEADLINE];
    if (ext.has(Extensions.DEADLINE) && typeof rawDeadline === 'number' && Number.isFinite(rawDeadline)) {
      deadline = rawDeadline;
      if (deadline <= now) {
        const error = deadlinePassedError();
        reg.counters?.record(0, error);
        this.replies.error(env, replyTo, error, 0);
        this.bus.metrics?.recordHandled(reg.kind, reg.target, ErrorCodes.AGENT_TIMEOUT, 0);
        this.bus.audit?.served(reg.kind, reg.target, env, error, 0);
        return;
      }
    }
    if (reg.timeout !== undefined && (deadline === undefined || now + reg.timeout < deadline)) deadline = now + reg.timeout;
    const abort = new LazyAbort();
    const call: Inflight = {
      request: env,
      replyTo,
      ext,
      abort,
      startedAt: now,
      lastSeen: now,
      credit: initialCredit(ext, env),
    };
    this.inflight.set(env.event_id, call);
    reg.active++;
    this.bus.stats.requestsServed++;
    const ctx =
      reg.kind === 'stream'
        ? new StreamCallContext(env, reg.target, reg.kind, abort, deadline)
        : new EnvelopeCallContext(env, reg.target, reg.kind, abort, deadline);
    let slot: DeadlineSlot | undefined;
    let expiry: Expiring | undefined;
    if (deadline !== undefined) {
      expiry = new HandlerDeadline(abort, reg.target);
      slot = scheduleDeadline(deadline, expiry);
    }
    // Handler time for discovery's STATS, in sub-millisecond steps (a Date.now() difference is 0 for most calls).
    const counters = reg.counters;
    const t0 = counters ? performance.now() : 0;
    const telemetry = this.bus.options.telemetry && tracingActive();
    let span: Span | undefined;
    let run: Promise<void> | undefined;
    if (telemetry) {
      const parent = handlerParent(env, ctx.trace.tracestate, ctx.trace.baggage);
      span = startHandlerSpan(
        reg.kind,
        reg.target,
        parent,
        spanAttributes(this.bus.transport.kind, 'handle', msg.subject, env, reg.target),
      );
      const s = span;
      run = withSpan(parent, s, () =>
        reg.kind === 'invoke' ? this.runInvoke(reg, call, ctx) : this.streams.run(reg, call, ctx as StreamCallContext),
      );
    } else {
      run = reg.kind === 'invoke' ? this.runInvoke(reg, call, ctx) : this.streams.run(reg, call, ctx as StreamCallContext);
    }
    const done = (): void => {
      if (slot) cancelDeadline(slot, expiry!);
      reg.active--;
      this.inflight.delete(env.event_id);
      call.creditWaiter?.();
      if (span) endSpan(span, call.error);
      const e = call.error;
      if (counters) counters.record(performance.now() - t0, e && countsAsFailure(e, call.abort.aborted) ? e : undefined, env.from);
      this.bus.metrics?.recordHandled(reg.kind, reg.target, call.error ? call.error.code : 'ok', Date.now() - now);
      const audit = this.bus.audit;
      if (audit) audit.served(reg.kind, reg.target, env, call.error, Date.now() - now, span?.spanContext());
    };
    if (run) run.then(done);
    else done();
  }

  /** A request that cannot be served as sent: counted against its target, answered INVALID_REQUEST where possible. */
  private invalidRequest(reg: Registration, msg: TransportMessage, error: BusError, env?: Envelope): void {
    reg.counters?.record(0, error);
    this.replies.invalid(msg, error, env);
  }

  /**
   * Runs an invoke handler. Not async: a handler that returns a plain value is answered at once, with no promise
   * (each promise also costs an AsyncLocalStorage hook on Node 20); handler-side retries take the loop below.
   */
  private runInvoke(reg: Registration, call: Inflight, ctx: CallContext): Promise<void> | undefined {
    if (reg.retry) return this.runInvokeRetrying(reg, reg.retry, call, ctx);
    let produced: unknown;
    try {
      produced = callContextStorage.run(ctx, reg.handler as InvokeHandler, call.request.payload, ctx);
    } catch (err) {
      this.replies.handlerFailed(reg.target, call, err, 0);
      return undefined;
    }
    if (!produced || typeof (produced as Promise<unknown>).then !== 'function') {
      this.replies.terminal(call, EventTypes.FINAL, invokePayload(call.ext, produced), 0);
      return undefined;
    }
    return untilAborted(produced as Promise<unknown>, call.abort).then(
      (result) => this.replies.terminal(call, EventTypes.FINAL, invokePayload(call.ext, result), 0),
      (err: unknown) => this.replies.handlerFailed(reg.target, call, err, 0),
    );
  }

  private async runInvokeRetrying(reg: Registration, retry: RetryExecutor, call: Inflight, ctx: CallContext): Promise<void> {
    const outcome = await retry.run(
      () =>
        untilAborted(
          callContextStorage.run(ctx, () => (reg.handler as InvokeHandler)(call.request.payload, ctx)),
          call.abort,
        ),
      {
        signal: call.abort.signal,
        stop: () => call.abort.aborted,
      },
    );
    if (outcome.ok) this.replies.terminal(call, EventTypes.FINAL, invokePayload(call.ext, outcome.value), 0);
    else this.replies.handlerFailed(reg.target, call, outcome.cause, 0);
  }

  /** Where the caller sends credit and cancellation for a call (built when needed: invokes rarely need it). */
  private controlSubject(call: Inflight): string {
    return `${this.bus.inbox}.ctl.${call.request.event_id}`;
  }

  /** A message on `<inbox>.ctl.<request id>`: cancel, credit, pong, or the no-responders of a liveness probe. */
  onControl(requestId: string, msg: TransportMessage): void {
    const call = this.inflight.get(requestId);
    if (!call) return;
    if (msg.status === 'no-responders') {
      call.abort.abort(callerGoneError());
      return;
    }
    const env = msg.envelope;
    if (!env) return;
    call.lastSeen = Date.now();
    switch (env.event_type) {
      case ControlEventTypes.CANCEL:
        this.cancelByCaller(call);
        break;
      case ControlEventTypes.CREDIT: {
        const n = env.metadata?.[MetaKeys.CREDIT];
        if (typeof n === 'number' && n > 0) {
          grantCredit(call, n);
        }
        break;
      }
      default:
        break;
    }
  }

  private onBroadcastCancel(msg: TransportMessage): void {
    const env = msg.envelope;
    if (!env || env.event_type !== ControlEventTypes.CANCEL || !env.correlation_id) return;
    const call = this.inflight.get(env.correlation_id);
    if (!call) return;
    this.cancelByCaller(call);
  }

  private cancelByCaller(call: Inflight): void {
    this.bus.stats.cancelledByCaller++;
    call.abort.abort(cancelledByCallerError());
  }

  /** Probes the callers of long calls; a vanished caller (no-responders) or a silent one aborts the handler. */
  private checkLiveness(every: number, now: number, stalled: boolean): void {
    for (const call of this.inflight.values()) {
      if (!call.ext.has(Extensions.CANCEL) || now - call.startedAt < every) continue;
      if (stalled) call.lastSeen = now;
      else if (now - call.lastSeen > every * 3) {
        call.abort.abort(new BusError(ErrorCodes.AGENT_UNAVAILABLE, 'caller stopped answering liveness probes', { retryable: false }));
        continue;
      }
      // Saying how often lets an invoke's caller notice when the probes stop (a stream's says it in `started`).
      this.control.send(
        call.replyTo,
        ControlEventTypes.PING,
        call.request.event_id,
        { [MetaKeys.LIVENESS]: every },
        this.controlSubject(call),
      );
    }
  }
}
