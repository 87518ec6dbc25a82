import { callContextStorage, type CallContext } from '../context/call-context.js';
import { EnvelopeCallContext } from '../context/envelope-call-context.js';
import { BusError } from '../errors/bus-error.js';
import { ErrorCodes } from '../errors/error-codes.js';
import { toBusError } from '../errors/to-bus-error.js';
import { EventTypes, SCHEMA_VERSION, SPEC_VERSION, type Envelope } from '../protocol/envelope.js';
import { createReply } from '../protocol/envelope-factory.js';
import { replyEncoder, type ReplyEncoder } from '../protocol/reply-encoder.js';
import { ControlEventTypes, Extensions, MetaKeys, parseExtensions } from '../protocol/extensions.js';
import { newEventId, nowRfc3339 } from '../protocol/ids.js';
import { assertName } from '../protocol/subjects.js';
import type { TransportMessage } from '../transport/transport.interface.js';
import { DirectInvokeServer } from './direct-invoke-server.js';
import {
  callerGoneError,
  cancelledByCallerError,
  concurrencyLimitError,
  countHandlerFailure,
  deadlineExceededError,
  deadlinePassedError,
} from './handler-failures.js';
import type { Registration } from './registration.js';
import type { BusClient, BusSubscription, EventHandler } from '../client/bus-client.js';
import type { HandlerOptions, SubscribeOptions } from '../client/call-options.js';
import { backoffDelay, DEFAULT_RETRY, shouldRetry, sleep } from '../resilience/retry-policy.js';
import { deltaPayload, finalPayload } from './frame-values.js';
import { endSpan, handlerParent, spanAttributes, startHandlerSpan, tracingActive, withSpan } from '../observability/bus-tracing.js';
import type { Span } from '@opentelemetry/api';
import type { StreamWriter } from './stream-writer.js';
import { LazyAbort, type AbortLike } from './lazy-abort.js';
import { isAsyncIterable } from './async-iterable.js';
import { cancelDeadline, scheduleDeadline, type DeadlineSlot, type Expiring } from '../timers/deadline-wheel.js';
import { livenessTicker } from '../timers/liveness-ticker.js';

/** What a programmatic handler receives besides the payload. */
export interface HandlerContext extends CallContext {
  /** Present for stream handlers. */
  readonly writer?: StreamWriter;
}

export type InvokeHandler<P = any, R = unknown> = (payload: P, ctx: HandlerContext) => R | Promise<R>;
export type StreamHandler<P = any> = (payload: P, ctx: HandlerContext & { writer: StreamWriter }) => unknown;


/** One request being served. */
interface Inflight {
  readonly request: Envelope;
  readonly replyTo: string;
  readonly ext: ReadonlySet<string>;
  readonly abort: LazyAbort;
  readonly startedAt: number;
  lastSeen: number;
  credit: number;
  creditWaiter?: () => void;
  /** Encodes this call's reply frames (made on first use). */
  encode?: ReplyEncoder;
  /** The error the handler ended with, for its span and metrics. */
  error?: BusError;
}

const NEVER_ABORTED = new AbortController().signal;
const RESOLVED: Promise<void> = Promise.resolve();
const RESPONDER_EXTENSIONS = [Extensions.NO_HANDLER, Extensions.DEADLINE, Extensions.CANCEL, Extensions.FLOW, Extensions.CHUNK, Extensions.TRACE];

/**
 * The serving half of a BusClient: registers invoke/stream targets on their subjects (queue group = target),
 * runs handlers inside their call context with a deadline- and cancel-driven AbortSignal, numbers stream
 * frames without gaps, honours flow-control credit, and answers bad requests with INVALID_REQUEST.
 */
export class Responder {
  private readonly registrations = new Map<string, Registration>();
  private readonly inflight = new Map<string, Inflight>();
  /** Serves invoke handlers to callers in this process without messages (memory transport). */
  private readonly direct: DirectInvokeServer;
  private livenessTimer?: NodeJS.Timeout;

  constructor(
    private readonly bus: BusClient,
    private readonly inbox: string,
  ) {
    this.direct = new DirectInvokeServer(bus);
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
    const reason = new BusError(ErrorCodes.AGENT_UNAVAILABLE, 'responder is shutting down');
    for (const call of this.inflight.values()) call.abort.abort(reason);
    this.direct.stop(reason);
  }

  /** Handler executions in flight. */
  get inflightCount(): number {
    return this.inflight.size + this.direct.inflightCount;
  }

  targets(): string[] {
    return [...this.registrations.keys()];
  }

  register(target: string, kind: 'invoke' | 'stream', handler: InvokeHandler | StreamHandler, options: HandlerOptions): BusSubscription {
    assertName(target, `${kind} target`);
    if (typeof handler !== 'function') throw new BusError(ErrorCodes.INVALID_REQUEST, `handler for "${target}" must be a function`);
    if (this.registrations.has(target)) {
      throw new BusError(ErrorCodes.INVALID_REQUEST, `target "${target}" already has a handler on this bus`);
    }
    const queue = options.queue ?? target;
    assertName(queue, 'queue group');
    const reg: Registration = {
      target,
      kind,
      handler,
      concurrency: options.concurrency && options.concurrency > 0 ? options.concurrency : Infinity,
      timeout: options.timeout && options.timeout > 0 ? options.timeout : undefined,
      retry: options.retry ? { ...DEFAULT_RETRY, ...options.retry } : undefined,
      deferStarted: options.deferStarted === true,
      active: 0,
      live: true,
      subs: [],
    };
    const transport = this.bus.transport;
    // Invoke handlers can also be handed a call straight from a caller in this process (memory transport);
    // handler-side retries stay on the message path.
    const direct = kind === 'invoke' && !reg.retry ? this.direct.endpointFor(reg) : undefined;
    reg.subs.push(transport.subscribe(this.bus.subjects.invoke(target), (m) => this.onRequest(reg, m), { queue, direct }));
    reg.subs.push(transport.subscribe(this.bus.subjects.cancel(target), (m) => this.onBroadcastCancel(m)));
    this.registrations.set(target, reg);
    return {
      ready: transport.flush(),
      unsubscribe: () => {
        if (this.registrations.get(target) !== reg) return;
        reg.live = false;
        for (const s of reg.subs) s.unsubscribe();
        this.registrations.delete(target);
      },
    };
  }

  // ------------------------------------------------------------------ requests

  private onRequest(reg: Registration, msg: TransportMessage): void {
    const env = msg.envelope;
    if (!env) {
      this.rejectInvalid(msg, msg.error ?? new BusError(ErrorCodes.CODEC_FAILURE, 'undecodable request'));
      return;
    }
    const replyTo = env.reply_to || msg.reply;
    if (env.event_type !== EventTypes.REQUEST) {
      this.rejectInvalid(msg, new BusError(ErrorCodes.INVALID_REQUEST, `unexpected event_type "${env.event_type}" on invoke subject ${msg.subject}`), env);
      return;
    }
    if (!replyTo) {
      this.bus.stats.droppedMessages++;
      this.bus.logger.warn(`dropped request ${env.event_id} for "${reg.target}": no reply_to and no reply subject`);
      return;
    }
    if (reg.active >= reg.concurrency) {
      this.replyError(env, replyTo, concurrencyLimitError(reg.target, reg.concurrency), 0);
      this.bus.metrics?.recordHandled(reg.kind, reg.target, ErrorCodes.BACKPRESSURE_DROP, 0);
      return;
    }
    const ext = parseExtensions(env.metadata?.[MetaKeys.EXT]);
    const now = Date.now();
    let deadline: number | undefined;
    const rawDeadline = env.metadata?.[MetaKeys.DEADLINE];
    if (ext.has(Extensions.DEADLINE) && typeof rawDeadline === 'number' && Number.isFinite(rawDeadline)) {
      deadline = rawDeadline;
      if (deadline <= now) {
        this.replyError(env, replyTo, deadlinePassedError(), 0);
        this.bus.metrics?.recordHandled(reg.kind, reg.target, ErrorCodes.AGENT_TIMEOUT, 0);
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
    const ctx = this.contextFor(env, reg.target, reg.kind, abort, deadline);
    let slot: DeadlineSlot | undefined;
    let expiry: Expiring | undefined;
    if (deadline !== undefined) {
      expiry = { expire: () => abort.abort(deadlineExceededError(reg.target)) };
      slot = scheduleDeadline(deadline, expiry);
    }
    const telemetry = this.bus.options.telemetry && tracingActive();
    let span: Span | undefined;
    let run: Promise<void> | undefined;
    if (telemetry) {
      const parent = handlerParent(env, ctx.trace.tracestate, ctx.trace.baggage);
      span = startHandlerSpan(reg.kind, reg.target, parent, spanAttributes(this.bus.transport.kind, 'handle', msg.subject, env, reg.target));
      const s = span;
      run = withSpan(parent, s, () => (reg.kind === 'invoke' ? this.runInvoke(reg, call, ctx) : this.runStream(reg, call, ctx)));
    } else {
      run = reg.kind === 'invoke' ? this.runInvoke(reg, call, ctx) : this.runStream(reg, call, ctx);
    }
    const done = (): void => {
      if (slot) cancelDeadline(slot, expiry!);
      reg.active--;
      this.inflight.delete(env.event_id);
      call.creditWaiter?.();
      if (span) endSpan(span, call.error);
      this.bus.metrics?.recordHandled(reg.kind, reg.target, call.error ? call.error.code : 'ok', Date.now() - now);
    };
    if (run) run.then(done);
    else done();
  }

  /**
   * Runs an invoke handler. Not async: a handler that returns a plain value is answered at once, with no promise
   * (each promise also costs an AsyncLocalStorage hook on Node 20); handler-side retries take the loop below.
   */
  private runInvoke(reg: Registration, call: Inflight, ctx: CallContext): Promise<void> | undefined {
    if (reg.retry) return this.runInvokeRetrying(reg, call, ctx);
    let produced: unknown;
    try {
      produced = callContextStorage.run(ctx, reg.handler as InvokeHandler, call.request.payload, ctx);
    } catch (err) {
      this.handlerFailed(reg, call, err, 0);
      return undefined;
    }
    if (!produced || typeof (produced as Promise<unknown>).then !== 'function') {
      this.sendTerminal(call, EventTypes.FINAL, finalPayload(produced), 0);
      return undefined;
    }
    return untilAborted(produced as Promise<unknown>, call.abort).then(
      (result) => this.sendTerminal(call, EventTypes.FINAL, finalPayload(result), 0),
      (err: unknown) => this.handlerFailed(reg, call, err, 0),
    );
  }

  private async runInvokeRetrying(reg: Registration, call: Inflight, ctx: CallContext): Promise<void> {
    let result: unknown;
    for (let attempt = 1; ; attempt++) {
      try {
        result = await untilAborted(callContextStorage.run(ctx, () => (reg.handler as InvokeHandler)(call.request.payload, ctx)), call.abort);
        break;
      } catch (err) {
        if (await this.retryHandler(reg, call, err, attempt)) continue;
        this.handlerFailed(reg, call, err, 0);
        return;
      }
    }
    this.sendTerminal(call, EventTypes.FINAL, finalPayload(result), 0);
  }

  /** Handler-side retry: waits the backoff and says whether to run the handler again. */
  private async retryHandler(reg: Registration, call: Inflight, err: unknown, attempt: number): Promise<boolean> {
    const policy = reg.retry;
    if (!policy || attempt >= policy.attempts || call.abort.aborted) return false;
    const error = toBusError(err);
    if (!shouldRetry(error, policy)) return false;
    this.bus.stats.retries++;
    try {
      await sleep(backoffDelay(attempt + 1, policy), call.abort.signal);
    } catch {
      return false;
    }
    return true;
  }

  private async runStream(reg: Registration, call: Inflight, ctx: CallContext): Promise<void> {
    let seq = 0;
    // The lazy abort source: an AbortSignal is made only if the handler reads writer.signal / ctx.signal.
    const signal = call.abort;
    const useExt = call.ext.has(Extensions.CANCEL) || call.ext.has(Extensions.FLOW);
    const publishFrame = (eventType: string, payload: unknown, metadata?: Record<string, unknown>): void => {
      const frame = createReply(call.request, eventType, payload, { from: this.bus.agentId, seq, metadata });
      // Deltas may share a socket write with the others of this turn; the terminal frame goes at once (after them).
      this.bus.transport.publish(call.replyTo, frame, { chunk: call.ext.has(Extensions.CHUNK), defer: eventType === EventTypes.DELTA, encode: this.encoderOf(call) });
      seq++;
      call.credit--;
      this.bus.stats.framesSent++;
    };
    // Sends that had to wait for credit, in call order; while one waits, later ones queue behind it.
    let waiting: Promise<void> | undefined;
    const send = (eventType: string, payload: unknown, metadata?: Record<string, unknown>): Promise<void> => {
      if (signal.aborted) return Promise.reject(signal.reason);
      if (!waiting && call.credit > 0) {
        // The common case costs no promise: a handler awaiting every delta would otherwise make two per frame.
        try {
          publishFrame(eventType, payload, metadata);
        } catch (err) {
          return Promise.reject(err);
        }
        return RESOLVED;
      }
      const sent = (waiting ?? RESOLVED).then(async () => {
        while (call.credit <= 0) {
          if (signal.aborted) throw signal.reason;
          await this.waitForCredit(call);
        }
        if (signal.aborted) throw signal.reason;
        publishFrame(eventType, payload, metadata);
      });
      waiting = sent;
      const clear = () => {
        if (waiting === sent) waiting = undefined;
      };
      sent.then(clear, clear);
      return sent;
    };
    let startedSent = false;
    const startedMeta: Record<string, unknown> | undefined = useExt
      ? { [MetaKeys.EXT]: RESPONDER_EXTENSIONS.filter((e) => call.ext.has(e)).join(','), [MetaKeys.CONTROL]: this.controlSubject(call) }
      : undefined;
    // With `cancel` this call gets liveness probes; saying how often lets the caller notice when they stop.
    if (startedMeta && call.ext.has(Extensions.CANCEL)) startedMeta[MetaKeys.LIVENESS] = this.bus.options.livenessInterval;
    const sendStarted = (meta?: Record<string, unknown>): Promise<void> => {
      if (startedSent) return RESOLVED;
      startedSent = true;
      return send(EventTypes.STARTED, { meta: { agent: this.bus.agentId, target: reg.target, ...meta } }, startedMeta);
    };
    const writer: StreamWriter = {
      delta: (v) => (startedSent ? send(EventTypes.DELTA, deltaPayload(v)) : sendStarted().then(() => send(EventTypes.DELTA, deltaPayload(v)))),
      data: (v) => (startedSent ? send(EventTypes.DELTA, { data: v }) : sendStarted().then(() => send(EventTypes.DELTA, { data: v }))),
      started: (meta) => sendStarted(meta),
      get sent() {
        return seq;
      },
      get signal() {
        return call.abort.signal;
      },
    };
    try {
      if (!reg.deferStarted) await sendStarted();
      // Not a spread: that would read the lazy `signal` getter and create the AbortController for every stream.
      const hctx: HandlerContext & { writer: StreamWriter } = {
        envelope: ctx.envelope,
        target: ctx.target,
        kind: ctx.kind,
        deadline: ctx.deadline,
        session: ctx.session,
        trace: ctx.trace,
        get signal() {
          return call.abort.signal;
        },
        writer,
      };
      let result: unknown;
      for (let attempt = 1; ; attempt++) {
        try {
          const produced = await untilAborted(callContextStorage.run(ctx, () => (reg.handler as StreamHandler)(call.request.payload, hctx)), signal);
          result = await untilAborted(callContextStorage.run(ctx, () => drainProduced(produced, writer, signal)), signal);
          break;
        } catch (err) {
          // Only the started frame has gone out: nothing the caller saw would be repeated.
          if (seq <= 1 && (await this.retryHandler(reg, call, err, attempt))) continue;
          throw err;
        }
      }
      if (!startedSent) await sendStarted();
      this.sendTerminal(call, EventTypes.FINAL, finalPayload(result), seq);
    } catch (err) {
      this.handlerFailed(reg, call, err, seq);
    }
  }

  private handlerFailed(reg: Registration, call: Inflight, err: unknown, seq: number): void {
    const signal = call.abort;
    const error = signal.aborted && !(err instanceof BusError) ? toBusError(signal.reason) : toBusError(err);
    call.error = error;
    countHandlerFailure(this.bus, reg.target, error, err, signal.aborted);
    this.sendTerminal(call, EventTypes.ERROR, error.toPayload(), seq);
  }

  /** Sends the terminal frame; if that publish fails, an error frame takes the same seq so no hole is left. */
  private sendTerminal(call: Inflight, eventType: string, payload: unknown, seq: number): void {
    const frame = createReply(call.request, eventType, payload, { from: this.bus.agentId, seq, isFinal: true });
    try {
      this.bus.transport.publish(call.replyTo, frame, { chunk: call.ext.has(Extensions.CHUNK), encode: this.encoderOf(call) });
      this.bus.stats.framesSent++;
      return;
    } catch (err) {
      const cause = err instanceof BusError ? err : new BusError(ErrorCodes.CODEC_FAILURE, `reply could not be encoded: ${(err as Error).message}`);
      if (eventType === EventTypes.ERROR && err instanceof BusError && err.code === ErrorCodes.TRANSPORT_FAILURE) {
        this.bus.logger.warn(`could not send error reply for ${call.request.event_id}: ${cause.message}`);
        return;
      }
      this.replyError(call.request, call.replyTo, cause, seq);
    }
  }

  private replyError(request: Envelope, replyTo: string, error: BusError, seq: number): void {
    const frame = createReply(request, EventTypes.ERROR, error.toPayload(), { from: this.bus.agentId, seq, isFinal: true });
    try {
      this.bus.transport.publish(replyTo, frame);
    } catch (err) {
      this.bus.logger.warn(`could not send error reply: ${(err as Error).message}`);
    }
  }

  private encoderOf(call: Inflight): ReplyEncoder {
    return (call.encode ??= replyEncoder(call.request, this.bus.agentId));
  }

  /** Bad input on a request subject: count it, log it, answer INVALID_REQUEST where there is a reply subject. */
  private rejectInvalid(msg: TransportMessage, error: BusError, env?: Envelope): void {
    this.bus.stats.invalidMessages++;
    this.bus.logger.warn(`invalid message on ${msg.subject}: ${error.message}`);
    const replyTo = env?.reply_to || msg.reply;
    if (!replyTo) return;
    // An undecodable body has no event_id to correlate with: the error frame stands on a placeholder request and
    // reaches the caller through its reply subject, which is how callers match replies.
    const request: Envelope = env ?? {
      spec_version: SPEC_VERSION,
      schema_version: SCHEMA_VERSION,
      event_id: newEventId(),
      event_type: EventTypes.REQUEST,
      occurred_at: nowRfc3339(),
    };
    const code = error.code === ErrorCodes.CODEC_FAILURE ? ErrorCodes.INVALID_REQUEST : error.code;
    this.replyError(request, replyTo, new BusError(code, error.message, { cause: error.details }), 0);
  }

  // ------------------------------------------------------------------ control

  /** Where the caller sends credit and cancellation for a call (built when needed: invokes rarely need it). */
  private controlSubject(call: Inflight): string {
    return `${this.inbox}.ctl.${call.request.event_id}`;
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
          call.credit += n;
          const w = call.creditWaiter;
          call.creditWaiter = undefined;
          w?.();
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

  private waitForCredit(call: Inflight): Promise<void> {
    const signal = call.abort;
    return new Promise<void>((resolve, reject) => {
      const onAbort = () => reject(signal.reason);
      signal.addEventListener('abort', onAbort, { once: true });
      call.creditWaiter = () => {
        signal.removeEventListener('abort', onAbort);
        if (signal.aborted) reject(signal.reason);
        else resolve();
      };
    });
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
      this.bus.sendControl(call.replyTo, ControlEventTypes.PING, call.request.event_id, undefined, this.controlSubject(call));
    }
  }

  // ------------------------------------------------------------------ events

  deliverEvent(pattern: string, msg: TransportMessage, handler: EventHandler, options: SubscribeOptions = {}): void {
    const env = msg.envelope;
    if (!env) {
      this.bus.stats.invalidMessages++;
      this.bus.logger.warn(`invalid event on ${msg.subject}: ${msg.error?.message ?? 'no body'}`);
      return;
    }
    this.bus.stats.eventsDelivered++;
    const started = Date.now();
    const ctx = this.contextFor(env, pattern, 'event', NEVER_ABORTED, undefined);
    let run = (): unknown => callContextStorage.run(ctx, () => handler(env.payload, env));
    let span: Span | undefined;
    if (this.bus.options.telemetry && tracingActive()) {
      const parent = handlerParent(env, ctx.trace.tracestate, ctx.trace.baggage);
      const s = startHandlerSpan('event', pattern, parent, spanAttributes(this.bus.transport.kind, 'process', msg.subject, env, pattern));
      const inner = run;
      run = () => withSpan(parent, s, inner);
      span = s;
    }
    const done = (error?: BusError) => {
      if (span) endSpan(span, error);
      this.bus.metrics?.recordHandled('event', pattern, error ? error.code : 'ok', Date.now() - started);
    };
    // The fast path: a synchronous handler that succeeds costs no promise.
    let first: unknown;
    try {
      first = run();
    } catch (err) {
      void this.eventFailed(pattern, msg.subject, env, run, options, err).then(done);
      return;
    }
    if (first && typeof (first as Promise<unknown>).then === 'function') {
      (first as Promise<unknown>).then(
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
  private async eventFailed(pattern: string, subject: string, env: Envelope, run: () => unknown, options: SubscribeOptions, firstError: unknown): Promise<BusError | undefined> {
    const policy = options.retry ? { ...DEFAULT_RETRY, ...options.retry } : undefined;
    let error = toBusError(firstError);
    let cause: unknown = firstError;
    let attempt = 1;
    while (policy && attempt < policy.attempts && shouldRetry(error, policy)) {
      attempt++;
      this.bus.stats.retries++;
      await sleep(backoffDelay(attempt, policy));
      try {
        await run();
        return undefined;
      } catch (err) {
        error = toBusError(err);
        cause = err;
      }
    }
    this.bus.stats.handlerErrors++;
    this.bus.logger.error(
      `event handler for "${pattern}" failed on ${env.event_type} after ${attempt} attempt(s): ${(cause as Error)?.message ?? cause}`,
      (cause as Error)?.stack,
    );
    if (options.deadLetter !== false) this.bus.publishDeadLetter(env, error, { attempts: attempt, subject, consumer: pattern });
    return error;
  }

  private contextFor(env: Envelope, target: string, kind: CallContext['kind'], abort: LazyAbort | AbortSignal, deadline: number | undefined): CallContext {
    return new EnvelopeCallContext(env, target, kind, abort, deadline);
  }

}

// Flow control needs both the extension and a window: an invoke advertises `flow` but grants no credit (it
// reads only the terminal frame), so without a window the producer is not limited.
/**
 * Waits for a handler, but no longer than its signal: a handler that ignores its AbortSignal must not keep its
 * caller waiting past the deadline or hold its concurrency slot; what it returns later is dropped.
 */
function untilAborted<T>(value: T | Promise<T>, signal: AbortLike): Promise<T> {
  if (!value || typeof (value as Promise<T>).then !== 'function') return Promise.resolve(value as T);
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    (value as Promise<T>).then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}

function initialCredit(ext: ReadonlySet<string>, env: Envelope): number {
  if (!ext.has(Extensions.FLOW)) return Infinity;
  const w = env.metadata?.[MetaKeys.WINDOW];
  return typeof w === 'number' && w >= 1 ? Math.floor(w) : Infinity;
}

/**
 * Turns what a stream handler returned into deltas: an async iterable (each item a delta, its return value
 * the result, else the last item), an Observable (each value a delta, the last value the result), or a plain
 * value (the result). Every delta waits for flow-control credit.
 */
async function drainProduced(produced: unknown, writer: StreamWriter, signal: AbortLike): Promise<unknown> {
  if (isAsyncIterable(produced)) {
    const it = produced[Symbol.asyncIterator]();
    let last: unknown;
    let sawItem = false;
    try {
      for (;;) {
        if (signal.aborted) throw signal.reason;
        const r = await it.next();
        if (r.done) return r.value !== undefined ? r.value : sawItem ? last : undefined;
        last = r.value;
        sawItem = true;
        await writer.delta(r.value);
      }
    } catch (err) {
      await it.return?.(undefined).catch(() => undefined);
      throw err;
    }
  }
  if (isObservableLike(produced)) return drainObservable(produced, writer, signal);
  return produced;
}

interface ObservableLike {
  subscribe(observer: { next(v: unknown): void; error(e: unknown): void; complete(): void }): { unsubscribe(): void };
}

function isObservableLike(v: unknown): v is ObservableLike {
  return !!v && typeof (v as ObservableLike).subscribe === 'function' && typeof (v as { pipe?: unknown }).pipe === 'function';
}


// An Observable cannot be paused, so its values queue here and are written one by one as credit allows.
function drainObservable(source: ObservableLike, writer: StreamWriter, signal: AbortLike): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const pending: unknown[] = [];
    let last: unknown;
    let completed = false;
    let writing = false;
    let failed = false;
    const fail = (e: unknown) => {
      if (failed) return;
      failed = true;
      sub?.unsubscribe();
      signal.removeEventListener('abort', onAbort);
      reject(e);
    };
    const onAbort = () => fail(signal.reason);
    const pump = async () => {
      if (writing) return;
      writing = true;
      try {
        while (pending.length > 0) await writer.delta(pending.shift());
      } catch (e) {
        fail(e);
        return;
      } finally {
        writing = false;
      }
      if (completed && !failed) {
        signal.removeEventListener('abort', onAbort);
        resolve(last);
      }
    };
    signal.addEventListener('abort', onAbort, { once: true });
    let sub: { unsubscribe(): void } | undefined;
    sub = source.subscribe({
      next: (v) => {
        last = v;
        pending.push(v);
        void pump();
      },
      error: (e) => fail(e),
      complete: () => {
        completed = true;
        void pump();
      },
    });
    if (failed) sub.unsubscribe();
  });
}
