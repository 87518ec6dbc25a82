import { currentCallContext, type CallContext } from '../context/call-context.js';
import { DirectCall } from '../direct/direct-call.js';
import { BusError } from '../errors/bus-error.js';
import { codecError } from '../errors/codec-error.js';
import { ErrorCodes } from '../errors/error-codes.js';
import type { CallOptions, StreamOptions } from '../interfaces/call-options.interface.js';
import { tracingActive } from '../observability/bus-tracing.js';
import type { Envelope } from '../protocol/envelope.js';
import { Extensions, MetaKeys } from '../protocol/extensions.js';
import { assertName } from '../protocol/subjects.js';
import type { BulkheadOptions } from '../resilience/bulkhead.js';
import type { CircuitBreakerOptions } from '../resilience/circuit-breaker.js';
import { needsResilience, resolvePolicy, type CallPolicy } from '../resilience/call-policy.js';
import { resolveRetry, RetryExecutor } from '../resilience/retry-executor.js';
import { asTransportError, type BusRuntime } from '../runtime/bus-runtime.js';
import type { ControlChannel } from '../runtime/control-channel.js';
import type { InboxRouter } from '../runtime/inbox-router.js';
import { scheduledItems } from '../timers/deadline-wheel.js';
import { livenessTicker } from '../timers/liveness-ticker.js';
import type { DirectEndpoint } from '../transport/transport.interface.js';
import { jsonClone } from '../utils/json-clone.js';
import { linkSignals, noop } from '../utils/abort-link.js';
import { endCall, startTrace, type CallRecord } from './call-tracing.js';
import { effectiveDeadline } from './deadline.js';
import { cancelledError } from './cancelled-error.js';
import { PendingInvoke } from './pending-invoke.js';
import { buildRequest } from './request-builder.js';
import { ResilientInvoker, type InvokeSpec } from './resilient-invoker.js';
import { StreamCall } from './stream-call.js';

/**
 * The calling half of a bus: invokes (in-process direct calls, plain message calls, and calls with retry,
 * circuit breaker and bulkhead) and streams. Replies reach it through the shared inbox router.
 */
export class Caller {
  /** Direct calls pending (they themselves sit in the deadline wheel, see failInFlight). */
  private directPending = 0;
  /** Checks, every livenessInterval, that the responders of open streams (and probed invokes) still send frames or probes. */
  private responderWatch?: NodeJS.Timeout;
  private readonly resilient: ResilientInvoker;
  /** Targets whose responders have shown the `chunk` extension: oversize requests may go to them chunked. */
  private readonly chunkTargets = new Set<string>();
  /** Targets whose responders said they probe their invokes, with how often (ms). */
  private readonly probedTargets = new Map<string, number>();
  /**
   * Whether a target's responders take cancellation, as their replies showed: true once one named `cancel` in
   * `acp.ext`, false when one answered without our extensions (an upstream runtime: no cancel frame is sent to it).
   */
  private readonly cancelTargets = new Map<string, boolean>();

  constructor(
    private readonly rt: BusRuntime,
    private readonly router: InboxRouter,
    private readonly control: ControlChannel,
  ) {
    this.resilient = new ResilientInvoker(rt, (spec, deadline, attempt) => this.invokeOnce(spec, deadline, attempt));
  }

  get options() {
    return this.rt.options;
  }

  get stats() {
    return this.rt.stats;
  }

  /** Calls waiting for a reply, direct ones included. */
  get pendingCalls(): number {
    return this.router.invokes.size + this.directPending;
  }

  get pendingStreams(): number {
    return this.router.streams.size;
  }

  start(): void {
    this.responderWatch = livenessTicker(this.rt.options.livenessInterval, (now, stalled) => {
      for (const s of this.router.streams.values()) (s as StreamCall).checkResponder(now, stalled);
      for (const call of this.router.invokes.values()) call.checkResponder(now, stalled);
    });
  }

  stop(): void {
    if (this.responderWatch) clearInterval(this.responderWatch);
  }

  invoke<R>(target: string, payload: unknown, options: CallOptions): Promise<R> {
    // In-process fast path: the handler is on this process's memory broker and nothing else listens. Calls that
    // need an envelope up front (retries, breakers, user metadata, tracing) take the message path.
    const { rt } = this;
    if (rt.transport.routeDirect && options.metadata === undefined && rt.isOpen && !tracingActive()) {
      const policy = this.policyFor(target, options);
      if (!needsResilience(policy)) {
        let subject: string;
        try {
          subject = rt.subjects.checkedInvoke(target);
        } catch (err) {
          return Promise.reject(err);
        }
        const endpoint = rt.transport.routeDirect(subject);
        if (endpoint !== undefined) {
          const timeout = policy ? policy.timeout : options.timeout;
          return this.invokeDirect(endpoint as DirectEndpoint<DirectCall> | null, target, payload, options, timeout) as Promise<R>;
        }
      }
    }
    return this.invokeCall(target, payload, options, true) as Promise<R>;
  }

  /** Like invoke, but resolves with the whole final reply envelope. */
  invokeEnvelope(target: string, payload: unknown, options: CallOptions): Promise<Envelope> {
    return this.invokeCall(target, payload, options, false) as Promise<Envelope>;
  }

  private invokeDirect(
    endpoint: DirectEndpoint<DirectCall> | null,
    target: string,
    payload: unknown,
    options: CallOptions,
    timeout: number | undefined,
  ): Promise<unknown> {
    const { rt } = this;
    rt.stats.requestsSent++;
    const ctx = currentCallContext();
    const started = Date.now();
    const deadline = effectiveDeadline(started, timeout, rt.options.defaultTimeout, ctx);
    let result: Promise<unknown>;
    if (endpoint === null) {
      result = Promise.reject(new BusError(ErrorCodes.NO_HANDLER, `no handler for target "${target}"`));
    } else {
      let copy: unknown;
      try {
        copy = jsonClone(payload);
      } catch (err) {
        return Promise.reject(codecError(err, `the payload for "${target}"`));
      }
      const call = new DirectCall(this, endpoint, target, copy, options, ctx, deadline, started);
      this.directPending++;
      rt.stats.directCalls++;
      const unlink = options.signal || ctx ? linkSignals([options.signal, ctx?.signal], (reason) => call.cancel(reason)) : noop;
      if (call.start(unlink)) rt.transport.deliverDirect!(call);
      result = call.promise;
    }
    if (!rt.metrics?.active) return result;
    return this.recordedCall(result, { kind: 'invoke', target, started, tracing: undefined });
  }

  /** `call`, with its span ended and its metrics recorded when it settles. */
  private recordedCall<T>(call: Promise<T>, record: CallRecord): Promise<T> {
    return call.then(
      (value) => {
        endCall(this.rt, record);
        return value;
      },
      (err: BusError) => {
        endCall(this.rt, record, err);
        throw err;
      },
    );
  }

  /** The request envelope of a direct call, as the message path would have delivered it. */
  directRequest(call: DirectCall, options: CallOptions, ctx: CallContext | undefined): Envelope {
    // A null placeholder keeps the payload's place among the keys; the handler's copy goes there.
    const placeholder = call.payload === undefined ? undefined : null;
    const reply = `${this.rt.inbox}.${this.rt.newCallId()}`;
    const request = buildRequest(this.rt, call.target, placeholder, options, ctx, reply, call.callerDeadline, undefined, undefined);
    const copy = jsonClone(request);
    if (call.payload !== undefined) copy.payload = call.payload;
    return copy;
  }

  forgetDirect(): void {
    this.directPending--;
  }

  /** An invoke over messages; `unwrap`: resolve with the result (as `resultOf` reads it) instead of the envelope. */
  private invokeCall(target: string, payload: unknown, options: CallOptions, unwrap: boolean): Promise<unknown> {
    const policy = this.policyFor(target, options);
    const ctx = currentCallContext();
    const started = Date.now();
    const deadline = effectiveDeadline(started, policy ? policy.timeout : options.timeout, this.rt.options.defaultTimeout, ctx);
    const tracing = startTrace(this.rt, 'invoke', target, options, ctx);
    // Not kept by a plain call past invokeOnce (a local shape, like the arguments it replaces).
    const spec: InvokeSpec = { target, payload, options, ctx, tracing, unwrap };
    const call = needsResilience(policy) ? this.resilient.invoke(spec, deadline, policy!) : this.invokeOnce(spec, deadline, 0);
    if (!tracing && !this.rt.metrics?.active) return call;
    return this.recordedCall(call, { kind: 'invoke', target, started, tracing });
  }

  /** The call policy of `target`, or undefined when neither the call nor the bus sets one (the fast path). */
  private policyFor(target: string, options: CallPolicy): CallPolicy | undefined {
    if (
      !this.rt.options.policies &&
      options.retry === undefined &&
      options.circuitBreaker === undefined &&
      options.bulkhead === undefined
    ) {
      return undefined;
    }
    return resolvePolicy(this.rt.options.policies, target, options);
  }

  /**
   * The caller-side circuit breaker of a target (created with the first options seen). Without `options` it takes
   * the target's configured policy, so looking a breaker up before the first call does not replace that policy.
   */
  breakerFor(target: string, options?: CircuitBreakerOptions) {
    const configured = resolvePolicy(this.rt.options.policies, target, {}).circuitBreaker;
    return this.resilient.breakerFor(target, options ?? (configured || {}));
  }

  bulkheadFor(target: string, options: BulkheadOptions) {
    return this.resilient.bulkheadFor(target, options);
  }

  private invokeOnce(spec: InvokeSpec, deadline: number, attempt: number): Promise<unknown> {
    const { target, options, ctx } = spec;
    // Aborted before it starts: nothing to publish, cancel or track.
    const aborted = options.signal?.aborted ? options.signal : ctx?.signal.aborted ? ctx.signal : undefined;
    if (aborted) return Promise.reject(cancelledError(aborted.reason, `invoke "${target}"`));
    const { rt } = this;
    const callId = rt.newCallId();
    const replySubject = `${rt.inbox}.${callId}`;
    let request: Envelope;
    let subject: string;
    try {
      rt.assertCanCall();
      subject = rt.subjects.checkedInvoke(target);
      const extra = attempt ? { [MetaKeys.ATTEMPT]: attempt } : undefined;
      request = buildRequest(rt, target, spec.payload, options, ctx, replySubject, deadline, extra, spec.tracing);
    } catch (err) {
      return Promise.reject(err);
    }
    const probes = this.probedTargets.get(target) ?? 0;
    const call = new PendingInvoke(this, callId, target, request, deadline, options.signal, ctx, spec.unwrap, probes);
    this.router.invokes.set(callId, call);
    if (call.settled) return call.promise;
    try {
      rt.transport.publish(subject, request, { reply: replySubject, chunk: this.mayChunk(target) });
      rt.stats.requestsSent++;
    } catch (err) {
      call.fail(this.publishError(err, target));
    }
    return call.promise;
  }

  stream(target: string, payload: unknown, options: StreamOptions): StreamCall {
    return new StreamCall(this, target, payload, options);
  }

  /** Starts a StreamCall once its iteration starts. */
  startStream(call: StreamCall, target: string, options: StreamOptions, ctx: CallContext | undefined): void {
    const { rt } = this;
    rt.assertCanCall();
    assertName(target, 'stream target');
    const policy = this.policyFor(target, options);
    const deadline = effectiveDeadline(Date.now(), policy ? policy.timeout : options.timeout, rt.options.defaultStreamTimeout, ctx);
    const window = Math.max(2, options.window ?? rt.options.streamWindow);
    const retryPolicy = resolveRetry(policy?.retry);
    const retry = retryPolicy ? new RetryExecutor(retryPolicy, rt.stats) : undefined;
    call.begin(deadline, window, [options.signal, ctx?.signal], retry, startTrace(rt, 'stream', target, options, ctx));
    this.sendStreamRequest(call);
  }

  /** Publishes (or, for a retry, publishes again) the request of a StreamCall under a fresh call id. */
  sendStreamRequest(call: StreamCall): void {
    // A signal aborted before the start (or during a retry's wait) has already ended the call: publish nothing.
    if (call.finished) return;
    const { rt } = this;
    const callId = rt.newCallId();
    const replySubject = `${rt.inbox}.${callId}`;
    const extra: Record<string, unknown> = { [MetaKeys.WINDOW]: call.window };
    if (call.retry) extra[MetaKeys.ATTEMPT] = call.attempt;
    const request = buildRequest(rt, call.target, call.payload, call.options, call.ctx, replySubject, call.deadline, extra, call.tracing);
    call.attach(callId, request);
    this.router.streams.set(callId, call);
    try {
      rt.transport.publish(rt.subjects.invoke(call.target), request, { reply: replySubject, chunk: this.mayChunk(call.target) });
      rt.stats.requestsSent++;
    } catch (err) {
      call.fail(this.publishError(err, call.target), false);
    }
  }

  endCall(call: CallRecord, err?: BusError, frames?: number): void {
    endCall(this.rt, call, err, frames);
  }

  /**
   * A reply showed the responder's extensions: remember whether `target` accepts chunked requests, and how often
   * its responders probe their calls (`acp.liveness` with `cancel`), so later invokes of it are watched from the start.
   */
  noteExtensions(target: string, ext: ReadonlySet<string>, livenessMs?: unknown): void {
    this.noteCancel(target, ext.has(Extensions.CANCEL));
    if (ext.has(Extensions.CANCEL) && typeof livenessMs === 'number' && livenessMs > 0) {
      if (this.probedTargets.size >= 10_000 && !this.probedTargets.has(target)) this.probedTargets.clear();
      this.probedTargets.set(target, livenessMs);
    }
    if (!ext.has(Extensions.CHUNK) || this.chunkTargets.has(target)) return;
    // Bounded: a caller of very many targets forgets and learns again rather than grow.
    if (this.chunkTargets.size >= 10_000) this.chunkTargets.clear();
    this.chunkTargets.add(target);
  }

  /**
   * An invoke of `target` watched from its start got no probe: either its responder died, or it does not probe
   * (an upstream runtime in the same queue group, which must not be cut off again). Its invokes are watched only
   * from their first probe until a responder says again that it probes (a new process's first reply does).
   */
  forgetProbes(target: string): void {
    this.probedTargets.delete(target);
  }

  private mayChunk(target: string): boolean {
    return this.rt.options.chunkRequests === 'always' || this.chunkTargets.has(target);
  }

  /** A refused publish as the caller's error; an oversize request to a target not known to take chunks says why. */
  private publishError(err: unknown, target: string): BusError {
    if (
      err instanceof BusError &&
      err.code === ErrorCodes.INVALID_REQUEST &&
      typeof err.details?.size === 'number' &&
      !this.mayChunk(target)
    ) {
      return new BusError(
        ErrorCodes.INVALID_REQUEST,
        `${err.message}: "${target}" has not shown that it accepts chunked messages (upstream runtimes do not); call it once with a small payload first, or set chunkRequests: 'always' when all its responders are OpenAgentIO for NestJS agents`,
        { cause: err.details },
      );
    }
    return asTransportError(err);
  }

  /**
   * A first reply of `target` without `acp.ext` (our responders name their extensions in the first reply to each
   * caller): unless one of its responders already named `cancel`, it is taken as a peer without cancellation.
   */
  noteNoExtensions(target: string): void {
    if (!this.cancelTargets.has(target)) this.noteCancel(target, false);
  }

  private noteCancel(target: string, cancels: boolean): void {
    if (this.cancelTargets.get(target) === cancels) return;
    // Bounded: a caller of very many targets forgets and learns again rather than grow.
    if (this.cancelTargets.size >= 10_000) this.cancelTargets.clear();
    this.cancelTargets.set(target, cancels);
  }

  forgetCall(callId: string): void {
    this.router.forget(callId);
  }

  /**
   * Cancels a call at its responder: on the control subject it named, else broadcast on the target's cancel subject,
   * but never to a target whose responders answered without `cancel` (upstream runtimes cannot hear it), and, for a
   * call that reached its deadline, only to targets known to take cancellation (ours stop at the deadline they were
   * sent anyway, `acp.deadline`).
   */
  cancelRemote(target: string, request: Envelope, controlSubject?: string, atDeadline = false): void {
    if (controlSubject === undefined) {
      const cancels = this.cancelTargets.get(target);
      if (cancels === false || (cancels === undefined && atDeadline)) return;
    }
    this.control.cancelRemote(target, request, controlSubject);
  }

  sendControl(subject: string, eventType: string, correlationId: string, metadata?: Record<string, unknown>): void {
    this.control.send(subject, eventType, correlationId, metadata);
  }

  /** Ends every call in flight with `err`: those waiting on the inbox and the direct ones. */
  failInFlight(err: BusError): void {
    this.router.failAll(err);
    if (this.directPending > 0) {
      for (const item of scheduledItems()) if (item instanceof DirectCall && item.caller === this) item.fail(err);
    }
  }
}
