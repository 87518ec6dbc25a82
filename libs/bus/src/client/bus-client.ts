import { currentCallContext, type CallContext } from '../context/call-context.js';
import { BusError } from '../errors/bus-error.js';
import { ErrorCodes } from '../errors/error-codes.js';
import type { Envelope } from '../protocol/envelope.js';
import { createEvent, createRequest, type EnvelopeFields } from '../protocol/envelope-factory.js';
import { ADVERTISED_EXTENSIONS, ControlEventTypes, MetaKeys } from '../protocol/extensions.js';
import { assertName, assertPattern, DEFAULT_SUBJECT_PREFIX, SubjectScheme } from '../protocol/subjects.js';
import { Responder, type InvokeHandler, type StreamHandler } from '../server/responder.js';
import type { DirectEndpoint, Transport, TransportMessage, TransportSubscription } from '../transport/transport.interface.js';
import type { CallOptions, HandlerOptions, PublishOptions, StreamOptions, SubscribeOptions } from './call-options.js';
import { effectiveDeadline } from './deadline.js';
import { PendingInvoke } from './pending-invoke.js';
import { DEFAULT_REORDER_LIMITS, type ReorderLimits } from './reorder-buffer.js';
import { StreamCall } from './stream-call.js';
import { DirectCall } from './direct-call.js';
import { linkSignals, noop } from './abort-link.js';
import { jsonClone } from '../transport/memory/json-clone.js';
import { scheduledItems } from '../timers/deadline-wheel.js';
import { livenessTicker } from '../timers/liveness-ticker.js';
import { resultOf } from './result-of.js';
import { BusStats } from './bus-stats.js';
import { Bulkhead, type BulkheadOptions } from '../resilience/bulkhead.js';
import { CircuitBreaker, isTargetFailure, type CircuitBreakerOptions } from '../resilience/circuit-breaker.js';
import { needsResilience, resolvePolicy, type BusPolicies, type CallPolicy } from '../resilience/call-policy.js';
import { backoffDelay, DEFAULT_RETRY, shouldRetry, sleep } from '../resilience/retry-policy.js';
import { toBusError } from '../errors/to-bus-error.js';
import { callerParent, endSpan, injectTrace, startCallerSpan, tracingActive } from '../observability/bus-tracing.js';
import { BusMetrics } from '../observability/bus-metrics.js';
import type { Context, Span } from '@opentelemetry/api';
import type { BusLogger } from './bus-logger.js';
import { consoleBusLogger } from './bus-logger.js';

export interface BusClientOptions {
  /** This agent's id: `from` of everything it sends. */
  agentId: string;
  subjectPrefix?: string;
  /** Tenant scope of subjects (`{prefix}.{tenant}.invoke.*`) and default tenant_id. */
  tenant?: string;
  /** Default invoke timeout (ms). Default 30 000. */
  defaultTimeout?: number;
  /** Default stream timeout (ms), for the whole stream. Default 300 000. */
  defaultStreamTimeout?: number;
  /** Flow-control window a stream consumer grants (frames). Default 256. */
  streamWindow?: number;
  /** Frames a consumer buffers from a responder without flow control before BACKPRESSURE_DROP. Default 4096. */
  maxBufferedFrames?: number;
  reorder?: Partial<ReorderLimits>;
  /** How often a responder checks that callers of long calls are still there (ms). Default 5 000. */
  livenessInterval?: number;
  /** Retry, circuit breaker, bulkhead and timeout defaults, per target or for all calls. */
  policies?: BusPolicies;
  /** OpenTelemetry spans and metrics (no-ops without an SDK). Default true. */
  telemetry?: boolean;
  logger?: BusLogger;
}

/** The caller span of a call and the context it was started in. */
export interface CallTrace {
  span: Span;
  parent: Context;
}

/** A live event subscription or handler registration. */
export interface BusSubscription {
  unsubscribe(): void;
  /** Resolves once the server has the subscription (a transport flush): await it before relying on delivery. */
  readonly ready: Promise<void>;
}

export type EventHandler<P = unknown> = (payload: P, envelope: Envelope) => unknown;

/**
 * The bus API: `invoke`, `stream`, `publish`, `subscribe`, and handler registration, over any Transport.
 * Usable without Nest (bridges use it directly); in Nest it is the injectable `BusClient`.
 *
 * @example
 * const bus = new BusClient(new MemoryTransport(), { agentId: 'router' });
 * await bus.connect();
 * bus.handleInvoke('math.add', ({ a, b }: { a: number; b: number }) => a + b);
 * const sum = await bus.invoke<number>('math.add', { a: 1, b: 2 }); // 3
 */
export class BusClient {
  readonly agentId: string;
  readonly subjects: SubjectScheme;
  readonly stats = new BusStats();
  readonly logger: BusLogger;
  readonly metrics?: BusMetrics;
  readonly options: Required<Omit<BusClientOptions, 'tenant' | 'reorder' | 'logger' | 'subjectPrefix' | 'policies'>> & {
    policies?: BusPolicies;
    tenant?: string;
    reorder: ReorderLimits;
  };
  private readonly inbox: string;
  private inboxSub?: TransportSubscription;
  private nextCallId = 0;
  private readonly invokes = new Map<string, PendingInvoke>();
  private readonly streams = new Map<string, StreamCall>();
  /** Direct calls pending (they themselves sit in the deadline wheel, see failInFlight). */
  private directPending = 0;
  private readonly responder: Responder;
  private readonly eventSubs = new Set<TransportSubscription>();
  private readonly breakers = new Map<string, CircuitBreaker>();
  private readonly bulkheads = new Map<string, Bulkhead>();
  private connected = false;
  private closing = false;
  /** Set when the server refused the reply inbox subscription: calls fail with it. */
  private inboxError?: BusError;
  private unwatchStatus?: () => void;
  /** Checks, every livenessInterval, that the responders of open streams still send frames or probes. */
  private responderWatch?: NodeJS.Timeout;

  constructor(
    readonly transport: Transport,
    options: BusClientOptions,
  ) {
    assertName(options.agentId, 'agent id');
    this.agentId = options.agentId;
    this.subjects = new SubjectScheme(options.subjectPrefix ?? DEFAULT_SUBJECT_PREFIX, options.tenant || undefined);
    this.logger = options.logger ?? consoleBusLogger;
    this.options = {
      agentId: options.agentId,
      tenant: options.tenant || undefined,
      defaultTimeout: options.defaultTimeout ?? 30_000,
      defaultStreamTimeout: options.defaultStreamTimeout ?? 300_000,
      streamWindow: Math.max(2, options.streamWindow ?? 256),
      maxBufferedFrames: options.maxBufferedFrames ?? 4096,
      livenessInterval: options.livenessInterval ?? 5_000,
      reorder: { ...DEFAULT_REORDER_LIMITS, ...(options.reorder ?? {}) },
      policies: options.policies,
      telemetry: options.telemetry ?? true,
    };
    this.inbox = transport.newInbox();
    this.responder = new Responder(this, this.inbox);
    if (this.options.telemetry) {
      this.metrics = new BusMetrics(this.agentId, this.stats, () => ({
        calls: this.invokes.size + this.directPending,
        streams: this.streams.size,
        handlers: this.responder.inflightCount,
      }));
    }
  }

  /** Connects the transport and opens the shared reply inbox. Idempotent. */
  async connect(): Promise<void> {
    if (this.connected) return;
    await this.transport.connect();
    this.inboxError = undefined;
    this.inboxSub = this.transport.subscribe(`${this.inbox}.>`, (m) => this.onInboxMessage(m), { onRefused: (e) => this.onInboxRefused(e) });
    // The server answers a subscription it refuses before the flush's PONG: such a connection could send calls
    // but never hear a reply, so it fails here instead of every call waiting out its deadline.
    await this.transport.flush();
    if (this.inboxError) {
      this.inboxSub.unsubscribe();
      await this.transport.close().catch(() => undefined);
      throw this.inboxError;
    }
    this.unwatchStatus = this.transport.onStatus((status, detail) => this.onTransportStatus(status, detail));
    this.connected = true;
    this.responder.start();
    this.responderWatch = livenessTicker(this.options.livenessInterval, (now, stalled) => {
      for (const s of this.streams.values()) s.checkResponder(now, stalled);
    });
  }

  // The reply inbox subscription was refused (after connect too, e.g. permissions reloaded): calls cannot be
  // answered, so those in flight end now and new ones fail at once; handlers and events still work.
  private onInboxRefused(error: BusError): void {
    this.inboxError = new BusError(
      ErrorCodes.AUTH_FAILURE,
      `${error.message}: that is this bus's reply inbox, so its calls could not be answered; allow the user to subscribe to "${this.inbox.slice(0, this.inbox.lastIndexOf('.'))}.>", or set the transport's inboxPrefix to a prefix it may subscribe to`,
      { retryable: false, cause: { inbox: this.inbox } },
    );
    if (this.connected) this.failInFlight(this.inboxError);
  }

  get isConnected(): boolean {
    return this.connected && !this.closing;
  }

  /** Stops serving, fails calls still in flight with TRANSPORT_FAILURE, and closes the transport. */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    this.responder.stop();
    if (this.responderWatch) clearInterval(this.responderWatch);
    for (const sub of this.eventSubs) sub.unsubscribe();
    this.eventSubs.clear();
    this.failInFlight(new BusError(ErrorCodes.TRANSPORT_FAILURE, 'bus client closed'));
    this.inboxSub?.unsubscribe();
    this.unwatchStatus?.();
    this.metrics?.close();
    await this.transport.close();
    this.connected = false;
  }

  // ---------------------------------------------------------------- caller side

  /**
   * Calls `target` and resolves with its result (`payload.result` of the final frame, or the whole payload
   * when a peer sends another shape). Rejects with BusError: NO_HANDLER at once when nothing serves the
   * target, AGENT_TIMEOUT at the deadline, the remote error for an error reply.
   */
  invoke<R = unknown>(target: string, payload?: unknown, options: CallOptions = {}): Promise<R> {
    // In-process fast path: the handler is on this process's memory broker and nothing else listens. Calls that
    // need an envelope up front (retries, breakers, user metadata, tracing) take the message path.
    if (this.transport.routeDirect && options.metadata === undefined && this.isConnected && !tracingActive()) {
      const policy = this.policyFor(target, options);
      if (!needsResilience(policy)) {
        let subject: string;
        try {
          subject = this.subjects.checkedInvoke(target);
        } catch (err) {
          return Promise.reject(err);
        }
        const endpoint = this.transport.routeDirect(subject);
        if (endpoint !== undefined) {
          const timeout = policy ? policy.timeout : options.timeout;
          return this.invokeDirect(endpoint as DirectEndpoint<DirectCall> | null, target, payload, options, timeout) as Promise<R>;
        }
      }
    }
    return this.invokeCall(target, payload, options, true) as Promise<R>;
  }

  private invokeDirect(endpoint: DirectEndpoint<DirectCall> | null, target: string, payload: unknown, options: CallOptions, timeout: number | undefined): Promise<unknown> {
    this.stats.requestsSent++;
    const ctx = currentCallContext();
    const started = Date.now();
    const deadline = effectiveDeadline(started, timeout, this.options.defaultTimeout, ctx);
    let result: Promise<unknown>;
    if (endpoint === null) {
      result = Promise.reject(new BusError(ErrorCodes.NO_HANDLER, `no handler for target "${target}"`));
    } else {
      let copy: unknown;
      try {
        copy = jsonClone(payload);
      } catch (err) {
        return Promise.reject(asTransportError(err));
      }
      const call = new DirectCall(this, endpoint, target, copy, options, ctx, deadline, started);
      this.directPending++;
      this.stats.directCalls++;
      const unlink = options.signal || ctx ? linkSignals([options.signal, ctx?.signal], (reason) => call.cancel(reason)) : noop;
      if (call.start(unlink)) this.transport.deliverDirect!(call);
      result = call.promise;
    }
    if (!this.metrics?.active) return result;
    return this.recordedCall(result, target, started, undefined);
  }

  /** `call`, with its span ended and its metrics recorded when it settles. */
  private recordedCall<T>(call: Promise<T>, target: string, started: number, tracing: CallTrace | undefined): Promise<T> {
    return call.then(
      (value) => {
        this.endCall('invoke', target, started, tracing);
        return value;
      },
      (err: BusError) => {
        this.endCall('invoke', target, started, tracing, err);
        throw err;
      },
    );
  }

  /** @internal The request envelope of a direct call, as the message path would have delivered it. */
  directRequest(call: DirectCall, options: CallOptions, ctx: CallContext | undefined): Envelope {
    // A null placeholder keeps the payload's place among the keys; the handler's copy goes there.
    const placeholder = call.payload === undefined ? undefined : null;
    const request = this.buildRequest(call.target, placeholder, options, ctx, `${this.inbox}.${this.newCallId()}`, call.callerDeadline, undefined, undefined);
    const copy = jsonClone(request);
    if (call.payload !== undefined) copy.payload = call.payload;
    return copy;
  }

  /** @internal A direct call has settled. */
  forgetDirect(): void {
    this.directPending--;
  }

  /** Like invoke, but resolves with the whole final reply envelope. */
  invokeEnvelope(target: string, payload?: unknown, options: CallOptions = {}): Promise<Envelope> {
    return this.invokeCall(target, payload, options, false) as Promise<Envelope>;
  }

  /** An invoke over messages; `unwrap`: resolve with the result (as `resultOf` reads it) instead of the envelope. */
  private invokeCall(target: string, payload: unknown, options: CallOptions, unwrap: boolean): Promise<unknown> {
    const policy = this.policyFor(target, options);
    const ctx = currentCallContext();
    const started = Date.now();
    const deadline = effectiveDeadline(started, policy ? policy.timeout : options.timeout, this.options.defaultTimeout, ctx);
    const tracing = this.startTrace('invoke', target, options, ctx);
    let call: Promise<unknown>;
    if (!needsResilience(policy)) call = this.invokeOnce(target, payload, options, ctx, deadline, 0, tracing, unwrap);
    else {
      const resilient = this.invokeResilient(target, payload, options, ctx, deadline, policy!, tracing);
      call = unwrap ? resilient.then(resultOf) : resilient;
    }
    if (!tracing && !this.metrics?.active) return call;
    return this.recordedCall(call, target, started, tracing);
  }

  /** @internal Starts the caller span of a call (undefined when telemetry is off). */
  startTrace(kind: 'invoke' | 'stream' | 'publish', name: string, options: CallOptions | PublishOptions, ctx: CallContext | undefined): CallTrace | undefined {
    if (!this.options.telemetry || !tracingActive()) return undefined;
    const parent = callerParent(ctx?.trace, options.traceparent, options.tracestate);
    const subject = kind === 'publish' ? this.subjects.event(name) : this.subjects.invoke(name);
    const attributes = {
      'messaging.system': this.transport.kind,
      'messaging.operation.name': kind,
      'messaging.destination.name': subject,
      'acp.target': name,
    } as Record<string, string>;
    const session = options.session_id ?? ctx?.session.session_id;
    if (session) attributes['acp.session_id'] = session;
    const conversation = options.conversation_id ?? ctx?.session.conversation_id;
    if (conversation) attributes['acp.conversation_id'] = conversation;
    const tenant = options.tenant_id ?? ctx?.session.tenant_id ?? this.options.tenant;
    if (tenant) attributes['acp.tenant_id'] = tenant;
    return { span: startCallerSpan(kind, name, parent, attributes), parent };
  }

  /** @internal Ends a call's span and records its metrics. */
  endCall(kind: 'invoke' | 'stream', target: string, started: number, tracing: CallTrace | undefined, err?: BusError, frames?: number): void {
    if (tracing) {
      if (frames !== undefined) tracing.span.setAttribute('acp.stream.frames', frames);
      endSpan(tracing.span, err);
    }
    this.metrics?.recordCall(kind, target, err ? err.code : 'ok', Date.now() - started);
  }

  /** The call policy of `target`, or undefined when neither the call nor the bus sets one (the fast path). */
  private policyFor(target: string, options: CallPolicy): CallPolicy | undefined {
    if (!this.options.policies && options.retry === undefined && options.circuitBreaker === undefined && options.bulkhead === undefined) return undefined;
    return resolvePolicy(this.options.policies, target, options);
  }

  private async invokeResilient(
    target: string,
    payload: unknown,
    options: CallOptions,
    ctx: CallContext | undefined,
    deadline: number,
    policy: CallPolicy,
    tracing: CallTrace | undefined,
  ): Promise<Envelope> {
    const retry = policy.retry ? { ...DEFAULT_RETRY, ...policy.retry } : undefined;
    const attempts = retry ? Math.max(1, retry.attempts) : 1;
    const breaker = policy.circuitBreaker ? this.breakerFor(target, policy.circuitBreaker) : undefined;
    const bulkhead = policy.bulkhead ? this.bulkheadFor(target, policy.bulkhead) : undefined;
    for (let attempt = 1; ; attempt++) {
      let admitted = false;
      try {
        breaker?.acquire();
        admitted = true;
        if (bulkhead) await bulkhead.acquire(waitSignal(deadline, options.signal, ctx?.signal));
        let reply: Envelope;
        try {
          const tryDeadline = retry?.attemptTimeout ? Math.min(deadline, Date.now() + retry.attemptTimeout) : deadline;
          reply = (await this.invokeOnce(target, payload, options, ctx, tryDeadline, retry ? attempt : 0, tracing)) as Envelope;
        } finally {
          bulkhead?.release();
        }
        breaker?.record(true);
        return reply;
      } catch (e) {
        const err = toBusError(e);
        if (admitted) breaker?.record(false, isTargetFailure(err));
        const aborted = options.signal?.aborted || ctx?.signal.aborted;
        if (!retry || attempt >= attempts || aborted || !shouldRetry(err, retry)) throw err;
        const delay = backoffDelay(attempt + 1, retry);
        if (Date.now() + delay >= deadline) throw err;
        this.stats.retries++;
        tracing?.span.addEvent('retry', { 'acp.attempt': attempt + 1, 'acp.error.code': err.code, 'acp.backoff_ms': delay });
        await sleep(delay, options.signal ?? ctx?.signal).catch(() => {
          throw err;
        });
      }
    }
  }

  /** The caller-side circuit breaker of a target (created with the first options seen). */
  breakerFor(target: string, options: CircuitBreakerOptions = {}): CircuitBreaker {
    let b = this.breakers.get(target);
    if (!b) this.breakers.set(target, (b = new CircuitBreaker(target, options)));
    return b;
  }

  private bulkheadFor(target: string, options: BulkheadOptions): Bulkhead {
    let b = this.bulkheads.get(target);
    if (!b) this.bulkheads.set(target, (b = new Bulkhead(target, options)));
    return b;
  }

  private invokeOnce(
    target: string,
    payload: unknown,
    options: CallOptions,
    ctx: CallContext | undefined,
    deadline: number,
    attempt: number,
    tracing: CallTrace | undefined,
    unwrap = false,
  ): Promise<unknown> {
    const callId = this.newCallId();
    const replySubject = `${this.inbox}.${callId}`;
    let request: Envelope;
    let subject: string;
    try {
      this.assertCanCall();
      subject = this.subjects.checkedInvoke(target);
      request = this.buildRequest(target, payload, options, ctx, replySubject, deadline, attempt ? { [MetaKeys.ATTEMPT]: attempt } : undefined, tracing);
    } catch (err) {
      return Promise.reject(err);
    }
    const call = new PendingInvoke(this, callId, target, request, deadline, options.signal, ctx, unwrap);
    this.invokes.set(callId, call);
    if (call.settled) return call.promise;
    try {
      this.transport.publish(subject, request, { reply: replySubject });
      this.stats.requestsSent++;
    } catch (err) {
      call.fail(asTransportError(err));
    }
    return call.promise;
  }

  /**
   * Streams from `target`: an async iterable of frames (started, deltas, the final frame). Frames arrive in
   * seq order with duplicates dropped; an error frame throws BusError (or is yielded, with `yieldErrors`).
   * The request is sent when iteration starts; breaking out of the loop, or aborting, cancels the call.
   *
   * @example
   * for await (const frame of bus.stream('writer', { topic: 'NATS' })) {
   *   if (frame.event_type === 'agent.response.delta') process.stdout.write((frame.payload as any).delta);
   * }
   */
  stream(target: string, payload?: unknown, options: StreamOptions = {}): StreamCall {
    return new StreamCall(this, target, payload, options);
  }

  /** @internal Starts a StreamCall once its iteration starts. */
  startStream(call: StreamCall, target: string, options: StreamOptions, ctx: CallContext | undefined): void {
    this.assertCanCall();
    assertName(target, 'stream target');
    const policy = this.policyFor(target, options);
    const deadline = effectiveDeadline(Date.now(), policy ? policy.timeout : options.timeout, this.options.defaultStreamTimeout, ctx);
    const window = Math.max(2, options.window ?? this.options.streamWindow);
    const retry = policy?.retry ? { ...DEFAULT_RETRY, ...policy.retry } : undefined;
    call.begin(deadline, window, [options.signal, ctx?.signal], retry, this.startTrace('stream', target, options, ctx));
    this.sendStreamRequest(call);
  }

  /** @internal Publishes (or, for a retry, publishes again) the request of a StreamCall under a fresh call id. */
  sendStreamRequest(call: StreamCall): void {
    const callId = this.newCallId();
    const replySubject = `${this.inbox}.${callId}`;
    const extra: Record<string, unknown> = { [MetaKeys.WINDOW]: call.window };
    if (call.retryPolicy) extra[MetaKeys.ATTEMPT] = call.attempt;
    const request = this.buildRequest(call.target, call.payload, call.options, call.ctx, replySubject, call.deadline, extra, call.tracing);
    call.attach(callId, request);
    this.streams.set(callId, call);
    if (call.finished) return;
    try {
      this.transport.publish(this.subjects.invoke(call.target), request, { reply: replySubject });
      this.stats.requestsSent++;
    } catch (err) {
      call.fail(asTransportError(err), false);
    }
  }

  /** Publishes an event on `{prefix}.events.{eventType}`; session fields default to the ambient call's. */
  async publish(eventType: string, payload?: unknown, options: PublishOptions = {}): Promise<Envelope> {
    this.assertOpen();
    assertName(eventType, 'event type');
    const ctx = currentCallContext();
    const env = createEvent(eventType, payload, this.envelopeFields(options, ctx));
    const tracing = this.startTrace('publish', eventType, options, ctx);
    const meta = this.requestMetadata(options, ctx, tracing, env);
    if (meta) env.metadata = meta;
    try {
      this.transport.publish(this.subjects.event(eventType), env);
    } catch (err) {
      const e = asTransportError(err);
      if (tracing) endSpan(tracing.span, e);
      throw e;
    }
    if (tracing) {
      tracing.span.setAttribute('messaging.message.id', env.event_id);
      endSpan(tracing.span);
    }
    this.stats.eventsPublished++;
    return env;
  }

  /**
   * Subscribes to events matching `pattern` (NATS wildcards `*` and `>`). The handler runs inside the event's
   * call context, so calls it makes carry the event's session. Its errors are logged, never sent back.
   */
  subscribe<P = unknown>(pattern: string, handler: EventHandler<P>, options: SubscribeOptions = {}): BusSubscription {
    this.assertOpen();
    assertPattern(pattern, 'event pattern');
    if (options.queue !== undefined) assertName(options.queue, 'queue group');
    const sub = this.transport.subscribe(
      this.subjects.event(pattern),
      (msg) => this.responder.deliverEvent(pattern, msg, handler as EventHandler, options),
      { queue: options.queue },
    );
    this.eventSubs.add(sub);
    return {
      unsubscribe: () => {
        sub.unsubscribe();
        this.eventSubs.delete(sub);
      },
      ready: this.transport.flush(),
    };
  }

  // ---------------------------------------------------------------- responder side

  /**
   * Serves invoke requests for `target`: the handler's return value is the result of the final frame, a throw
   * becomes an error frame. Replicas share a queue group (default: the target name).
   */
  handleInvoke<P = any, R = unknown>(target: string, handler: InvokeHandler<P, R>, options: HandlerOptions = {}): BusSubscription {
    this.assertOpen();
    return this.responder.register(target, 'invoke', handler as InvokeHandler, options);
  }

  /**
   * Serves stream requests for `target`. The handler may return an async iterable or Observable (each value
   * is a delta, the return value or last value the final result) or write through `ctx.writer`. A `started`
   * frame is sent first; a terminal frame is always sent, numbered without gaps.
   */
  handleStream<P = any>(target: string, handler: StreamHandler<P>, options: HandlerOptions = {}): BusSubscription {
    this.assertOpen();
    return this.responder.register(target, 'stream', handler as StreamHandler, options);
  }

  /** Targets this client serves. */
  get targets(): string[] {
    return this.responder.targets();
  }

  // ---------------------------------------------------------------- internals shared with calls

  /** @internal */
  forgetCall(callId: string): void {
    this.invokes.delete(callId);
    this.streams.delete(callId);
  }

  /**
   * Publishes an event whose handler failed for good to `{prefix}.dlq.{event_type}` (never tenant-scoped): the
   * original envelope, unchanged but for metadata keys `dlq_error_code`, `dlq_error_message`, `dlq_attempts`,
   * `dlq_subject`, `dlq_consumer`, `dlq_agent` and `dlq_failed_at`.
   */
  publishDeadLetter(original: Envelope, error: BusError, info: { attempts: number; subject: string; consumer: string }): void {
    const dead: Envelope = {
      ...original,
      metadata: {
        ...(original.metadata ?? {}),
        dlq_error_code: error.code,
        dlq_error_message: error.message,
        dlq_attempts: info.attempts,
        dlq_subject: info.subject,
        dlq_consumer: info.consumer,
        dlq_agent: this.agentId,
        dlq_failed_at: new Date().toISOString(),
      },
    };
    try {
      this.transport.publish(this.subjects.deadLetter(original.event_type), dead);
      this.stats.deadLetters++;
    } catch (err) {
      this.logger.error(`could not dead-letter ${original.event_id}: ${(err as Error).message}`);
    }
  }

  /** @internal Publishes a control frame; errors are swallowed (control is best effort). */
  sendControl(subject: string, eventType: string, correlationId: string, metadata?: Record<string, unknown>, reply?: string): void {
    if (this.closing && eventType !== ControlEventTypes.CANCEL) return;
    const env = createEvent(eventType, undefined, { from: this.agentId });
    env.correlation_id = correlationId;
    if (metadata) env.metadata = metadata;
    try {
      this.transport.publish(subject, env, reply ? { reply } : undefined);
    } catch (err) {
      this.logger.debug?.(`control ${eventType} to ${subject} failed: ${(err as Error).message}`);
    }
  }

  /** @internal Cancels a call at the responder: directly when its control subject is known, else by broadcast. */
  cancelRemote(target: string, request: Envelope, controlSubject?: string): void {
    if (controlSubject) this.sendControl(controlSubject, ControlEventTypes.CANCEL, request.event_id);
    else this.sendControl(this.subjects.cancel(target), ControlEventTypes.CANCEL, request.event_id);
  }

  private onInboxMessage(msg: TransportMessage): void {
    const subject = msg.subject;
    const token = subject.slice(this.inbox.length + 1);
    if (token.startsWith('ctl.')) {
      this.responder.onControl(token.slice(4), msg);
      return;
    }
    const env = msg.envelope;
    if (env && env.event_type === ControlEventTypes.PING) {
      this.answerPing(token, env, msg.reply);
      return;
    }
    const invoke = this.invokes.get(token);
    if (invoke) {
      invoke.onMessage(msg);
      return;
    }
    const stream = this.streams.get(token);
    if (stream) {
      stream.onMessage(msg);
      return;
    }
    if (msg.envelope) this.stats.lateReplies++;
  }

  // Replies published while the connection is down are lost, so calls in flight end now with a retryable
  // error instead of waiting for their deadline; a retry policy can take them up again after reconnecting.
  private onTransportStatus(status: string, detail?: string): void {
    if (status !== 'disconnected' && status !== 'reconnecting') return;
    if (this.invokes.size === 0 && this.streams.size === 0 && this.directPending === 0) return;
    this.failInFlight(new BusError(ErrorCodes.TRANSPORT_FAILURE, `transport ${status}${detail ? `: ${detail}` : ''}`, { retryable: true }));
  }

  private failInFlight(err: BusError): void {
    for (const call of [...this.invokes.values()]) call.fail(err);
    for (const call of [...this.streams.values()]) call.fail(err, false);
    if (this.directPending > 0) {
      for (const item of scheduledItems()) if (item instanceof DirectCall && item.caller === this) item.fail(err);
    }
  }

  // Liveness probe from a responder: say whether this call is still wanted.
  private answerPing(callId: string, ping: Envelope, reply: string | undefined): void {
    if (!reply) return;
    const stream = this.streams.get(callId);
    stream?.heardFromResponder();
    const alive = stream !== undefined || this.invokes.has(callId);
    this.sendControl(reply, alive ? ControlEventTypes.PONG : ControlEventTypes.CANCEL, ping.correlation_id ?? '');
  }

  private buildRequest(
    target: string,
    payload: unknown,
    options: CallOptions,
    ctx: CallContext | undefined,
    replySubject: string,
    deadline: number,
    extraMeta: Record<string, unknown> | undefined,
    tracing: CallTrace | undefined,
  ): Envelope {
    const fields = this.envelopeFields(options, ctx);
    fields.to = target;
    fields.reply_to = replySubject;
    const request = createRequest(payload, fields);
    const meta: Record<string, unknown> = this.requestMetadata(options, ctx, tracing, request) ?? {};
    if (extraMeta) Object.assign(meta, extraMeta);
    meta[MetaKeys.EXT] = ADVERTISED_EXTENSIONS;
    meta[MetaKeys.DEADLINE] = deadline;
    request.metadata = meta;
    return request;
  }

  private envelopeFields(options: CallOptions | PublishOptions, ctx: CallContext | undefined): EnvelopeFields {
    const s = ctx?.session;
    const t = ctx?.trace;
    return {
      from: this.agentId,
      session_id: options.session_id ?? s?.session_id,
      conversation_id: options.conversation_id ?? s?.conversation_id,
      tenant_id: options.tenant_id ?? s?.tenant_id ?? this.options.tenant,
      user_id: options.user_id ?? s?.user_id,
      channel: options.channel ?? s?.channel,
      traceparent: options.traceparent ?? t?.traceparent,
      trace_id: options.traceparent ? traceIdOf(options.traceparent) : t?.trace_id,
      span_id: options.traceparent ? spanIdOf(options.traceparent) : t?.span_id,
    };
  }

  private requestMetadata(
    options: CallOptions | PublishOptions,
    ctx: CallContext | undefined,
    tracing?: CallTrace,
    env?: Envelope,
  ): Record<string, unknown> | undefined {
    let meta: Record<string, unknown> | undefined;
    if (options.metadata) {
      for (const key in options.metadata) {
        if (key.startsWith('acp.')) throw new BusError(ErrorCodes.INVALID_REQUEST, `metadata key "${key}" is reserved (acp.*)`);
        (meta ??= {})[key] = options.metadata[key];
      }
    }
    let tracestate = options.tracestate ?? ctx?.trace.tracestate;
    let baggage = options.baggage ?? ctx?.trace.baggage;
    if (tracing && env) ({ tracestate, baggage } = injectTrace(tracing.span, tracing.parent, env, { tracestate, baggage }));
    if (tracestate) (meta ??= {})[MetaKeys.TRACESTATE] = tracestate;
    if (baggage) (meta ??= {})[MetaKeys.BAGGAGE] = baggage;
    return meta;
  }

  private newCallId(): string {
    return (this.nextCallId++).toString(36);
  }

  private assertOpen(): void {
    if (!this.connected || this.closing) {
      throw new BusError(ErrorCodes.TRANSPORT_FAILURE, this.closing ? 'bus client is closed' : 'bus client is not connected; call connect() first');
    }
  }

  /** Open, and able to hear replies. */
  private assertCanCall(): void {
    this.assertOpen();
    if (this.inboxError) throw this.inboxError;
  }
}

// Waiting for a bulkhead slot ends at the deadline or when the call is aborted.
function waitSignal(deadline: number, ...signals: Array<AbortSignal | undefined>): AbortSignal {
  const timeout = AbortSignal.timeout(Math.max(1, deadline - Date.now()));
  return AbortSignal.any([timeout, ...signals.filter((s): s is AbortSignal => !!s)]);
}

function asTransportError(err: unknown): BusError {
  if (err instanceof BusError) return err;
  return new BusError(ErrorCodes.TRANSPORT_FAILURE, (err as Error)?.message ?? String(err));
}

function traceIdOf(traceparent: string): string | undefined {
  const parts = traceparent.split('-');
  return parts.length >= 4 ? parts[1] : undefined;
}

function spanIdOf(traceparent: string): string | undefined {
  const parts = traceparent.split('-');
  return parts.length >= 4 ? parts[2] : undefined;
}


