// Over 350 lines: a stream call's iteration, reordering, flow-control credit, retry and responder liveness all
// act on the same per-call state, which this class keeps on the hot path without extra objects per frame.
import { currentCallContext, type CallContext } from '../context/call-context.js';
import { BusError } from '../errors/bus-error.js';
import { ErrorCodes } from '../errors/error-codes.js';
import { EventTypes, isTerminalEventType, type Envelope } from '../protocol/envelope.js';
import { ControlEventTypes, Extensions, MetaKeys, parseExtensions } from '../protocol/extensions.js';
import type { TransportMessage } from '../transport/transport.interface.js';
import type { CallTrace } from './call-trace.js';
import type { CallRecord } from './call-tracing.js';
import type { ResolvedBusOptions } from '../interfaces/bus-client-options.interface.js';
import type { BusStats } from '../runtime/bus-stats.js';
import type { StreamOptions } from '../interfaces/call-options.interface.js';
import { cancelledError } from './cancelled-error.js';
import { listenAll, unlistenAll, type SignalLink } from '../utils/abort-link.js';
import { belongsTo } from './frame-origin.js';
import { ReorderBuffer } from './reorder-buffer.js';
import { ResponderWatch } from './responder-watch.js';
import { resultOf } from './result-of.js';
import type { RetryExecutor } from '../resilience/retry-executor.js';
import { isPublishableSubject } from '../protocol/subjects.js';
import { cancelDeadline, scheduleDeadline, type DeadlineSlot, type Expiring } from '../timers/deadline-wheel.js';

/** What a stream call needs from the caller that made it. */
export interface StreamHost {
  readonly options: ResolvedBusOptions;
  readonly stats: BusStats;
  startStream(call: StreamCall, target: string, options: StreamOptions, ctx: CallContext | undefined): void;
  sendStreamRequest(call: StreamCall): void;
  forgetCall(callId: string): void;
  cancelRemote(target: string, request: Envelope, controlSubject?: string, atDeadline?: boolean): void;
  sendControl(subject: string, eventType: string, correlationId: string, metadata?: Record<string, unknown>): void;
  endCall(call: CallRecord, err?: BusError, frames?: number): void;
  noteExtensions(target: string, ext: ReadonlySet<string>, livenessMs?: unknown): void;
}

/**
 * A stream call on the caller: an async iterable of frames in seq order. It grants the responder flow-control
 * credit as frames are consumed (so a slow consumer slows the producer), and cancels the remote handler when
 * the loop is left early, the call is aborted or its deadline passes.
 */
export class StreamCall implements AsyncIterableIterator<Envelope>, Expiring {
  /** @internal */
  readonly ctx: CallContext | undefined;
  /** @internal The id of the current attempt (its reply subject token). */
  callId = '';
  /** @internal */
  deadline = 0;
  /** @internal */
  window = 0;
  /** @internal */
  retry?: RetryExecutor;
  /** @internal 1 for the first try. */
  attempt = 1;
  /** @internal */
  tracing?: CallTrace;
  private startedAt = 0;
  private framesReceived = 0;
  private firstDeltaSeen = false;
  private terminalError?: BusError;
  private receivedAny = false;
  private retryTimer?: NodeJS.Timeout;
  private started = false;
  /** The terminal frame has arrived (or the call failed): nothing more comes from the network. */
  finished = false;
  private done = false;
  private request?: Envelope;
  /** Made on the first frame out of order (or repeated): until then frames are taken in seq order without it. */
  private reorder?: ReorderBuffer;
  /** The seq of the next frame in order, while there is no reorder buffer. */
  private nextSeq = 0;
  /** Frames not yet read from `head` on; NO_FRAMES while none has come since the queue last drained. */
  private queue: Envelope[] = NO_FRAMES;
  private head = 0;
  private failure?: BusError;
  private waiter?: { resolve: (r: IteratorResult<Envelope>) => void; reject: (e: unknown) => void };
  private slot?: DeadlineSlot;
  private timeoutMs = 0;
  /** The caller's signals this call listens to (it is their listener itself: no closure per call). */
  private linked?: SignalLink;
  private peerFlow = false;
  /** Frames buffered beyond which a call with flow control fails with BACKPRESSURE_DROP. */
  private bufferLimit: number;
  /** Wire bytes buffered beyond which a call without flow control fails with BACKPRESSURE_DROP. */
  private readonly byteLimit: number;
  /** Without flow control: wire bytes of the frames queued and not yet read; `sizes` holds each one's, aligned with `queue`. */
  private bufferedBytes = 0;
  private sizes?: number[];
  /** A frame came without its wire size (a transport that hands objects over): bound by frames, as with flow control. */
  private unsized = false;
  private peerCancel = false;
  private controlSubject?: string;
  private consumedSinceCredit = 0;
  private finalFrame?: Envelope;
  /** Watch on the responder, when its `started` frame said how often it probes (`acp.liveness`). */
  private responderWatch?: ResponderWatch;

  constructor(
    private readonly bus: StreamHost,
    readonly target: string,
    /** @internal */ readonly payload: unknown,
    /** @internal */ readonly options: StreamOptions,
  ) {
    this.ctx = currentCallContext();
    this.bufferLimit = bus.options.maxBufferedFrames;
    this.byteLimit = options.maxBufferedBytes ?? bus.options.maxBufferedBytes;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  /** The request envelope, once the call has started. */
  get requestEnvelope(): Envelope | undefined {
    return this.request;
  }

  /** The terminal `final` frame, once it has been consumed. */
  get final(): Envelope | undefined {
    return this.finalFrame;
  }

  next(): Promise<IteratorResult<Envelope>> {
    if (!this.started) {
      this.started = true;
      try {
        this.bus.startStream(this, this.target, this.options, this.ctx);
      } catch (err) {
        this.done = true;
        return Promise.reject(err);
      }
    }
    if (this.head < this.queue.length) {
      try {
        return Promise.resolve(this.take());
      } catch (err) {
        return Promise.reject(err);
      }
    }
    if (this.done) return Promise.resolve(DONE);
    if (this.failure) {
      this.done = true;
      return Promise.reject(this.failure);
    }
    if (this.waiter) return Promise.reject(new BusError(ErrorCodes.INVALID_REQUEST, 'a stream can be read by one consumer at a time'));
    return new Promise((resolve, reject) => {
      this.waiter = { resolve, reject };
    });
  }

  /** Leaving a for-await loop early lands here: cancel the remote handler and release everything. */
  async return(): Promise<IteratorResult<Envelope>> {
    this.cancel('consumer stopped reading');
    this.done = true;
    return DONE;
  }

  /** Cancels the call: the remote handler's AbortSignal fires (when the responder supports cancellation). */
  cancel(reason: unknown = 'cancelled'): void {
    if (!this.done) {
      if (!this.finished && this.request) {
        this.cancelResponder(false);
        this.bus.stats.cancelledByCaller++;
      }
      this.queue = NO_FRAMES;
      this.sizes = undefined;
      this.head = 0;
      this.bufferedBytes = 0;
      // The next read (or the one waiting) rejects with the cancellation.
      this.fail(cancelledError(reason, `stream "${this.target}"`), false);
    }
  }

  /** Reads the stream to its end and returns the final result. */
  async result<R = unknown>(): Promise<R> {
    for await (const _ of this) {
      // frames are consumed for their side effects on finalFrame
    }
    return (this.finalFrame ? resultOf(this.finalFrame) : undefined) as R;
  }

  /** Reads the stream to its end and returns the concatenated text deltas. */
  async text(): Promise<string> {
    let out = '';
    for await (const frame of this) {
      if (frame.event_type === EventTypes.DELTA) {
        const d = (frame.payload as { delta?: unknown } | undefined)?.delta;
        if (typeof d === 'string') out += d;
      }
    }
    return out;
  }

  /** @internal Called by the caller when iteration starts. */
  begin(
    deadline: number,
    window: number,
    signals: ReadonlyArray<AbortSignal | undefined>,
    retry?: RetryExecutor,
    tracing?: CallTrace,
  ): void {
    this.startedAt = Date.now();
    this.tracing = tracing;
    this.deadline = deadline;
    this.window = window;
    this.retry = retry;
    this.timeoutMs = Math.max(0, deadline - this.startedAt);
    this.slot = scheduleDeadline(deadline, this);
    for (const s of signals) {
      if (s?.aborted) {
        this.cancel(s.reason);
        return;
      }
    }
    this.linked = listenAll(signals, this);
  }

  /** @internal One of the caller's signals aborted (the call is its own listener object). */
  handleEvent(ev: Event): void {
    this.cancel((ev.target as AbortSignal).reason);
  }

  /** @internal The deadline passed (called by the deadline wheel). */
  expire(): void {
    this.slot = undefined;
    if (this.finished) return;
    this.cancelResponder(true);
    this.fail(new BusError(ErrorCodes.AGENT_TIMEOUT, `stream "${this.target}" timed out after ${this.timeoutMs} ms`), false);
  }

  /** @internal Called by the caller right before each attempt's request is published. */
  attach(callId: string, request: Envelope): void {
    this.callId = callId;
    this.request = request;
  }

  // A stream is retried only while nothing has arrived from it: frames a consumer has seen are never replayed.
  private retryInstead(err: BusError): boolean {
    const retry = this.retry;
    if (!retry || this.receivedAny || this.done) return false;
    const delay = retry.nextDelay(err, this.attempt, this.deadline);
    if (delay === undefined) return false;
    this.bus.forgetCall(this.callId);
    retry.counted();
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      if (this.finished || this.done) return;
      this.attempt++;
      this.reorder = undefined;
      this.nextSeq = 0;
      try {
        this.bus.sendStreamRequest(this);
      } catch (e) {
        this.fail(e instanceof BusError ? e : new BusError(ErrorCodes.TRANSPORT_FAILURE, String(e)), false);
      }
    }, delay);
    return true;
  }

  /** @internal */
  onMessage(msg: TransportMessage): void {
    if (this.finished) return;
    if (msg.status === 'no-responders') {
      this.fail(new BusError(ErrorCodes.NO_HANDLER, `no handler for target "${this.target}"`), false);
      return;
    }
    const env = msg.envelope;
    if (!env) {
      this.fail(msg.error ?? new BusError(ErrorCodes.CODEC_FAILURE, 'undecodable stream frame'), true);
      return;
    }
    if (!belongsTo(env, this.request!)) {
      this.bus.stats.foreignFrames++;
      return;
    }
    if (!this.receivedAny && env.event_type === EventTypes.ERROR && (env.seq ?? 0) === 0 && this.retry) {
      // Refused before it started (busy, unavailable): nothing reached the consumer, so it may be retried.
      if (this.retryInstead(BusError.fromPayload(env.payload, env))) return;
    }
    this.receivedAny = true;
    const size = msg.size;
    if (size === undefined) this.unsized = true;
    const seq = env.seq ?? 0;
    if (!this.reorder && seq === this.nextSeq) {
      // In order, the usual case: no reorder buffer, and no array of ready frames per frame.
      this.nextSeq++;
      this.enqueue(env, size);
    } else {
      let ready: Envelope[];
      try {
        ready = (this.reorder ??= new ReorderBuffer(this.bus.options.reorder, this.nextSeq)).accept(env);
      } catch (err) {
        this.fail(err as BusError, true);
        return;
      }
      for (const frame of ready) if (this.enqueue(frame, size)) break;
    }
    // A responder with flow control never has more than the window unread; one that ignores it (or forged credit)
    // is bounded in frames. A peer without flow control (upstream runtimes) cannot be slowed down, so everything it
    // sends is kept up to a byte budget: a long answer to a slow reader completes, memory stays bounded.
    if (!this.finished) {
      const behind = this.queue.length - this.head;
      if (this.peerFlow || this.unsized ? behind > this.bufferLimit : this.bufferedBytes > this.byteLimit) {
        this.fail(
          new BusError(
            ErrorCodes.BACKPRESSURE_DROP,
            this.peerFlow
              ? `stream responder sent more than ${this.bufferLimit} frames the consumer had not asked for (flow-control window ${this.window})`
              : this.unsized
                ? `stream consumer fell more than ${this.bufferLimit} frames behind`
                : `stream consumer fell more than ${this.byteLimit} bytes behind a responder without flow control (maxBufferedBytes; ${behind} frames unread)`,
          ),
          true,
        );
        return;
      }
    }
    this.wake();
  }

  /** Queues a frame that is next in order; true when it ended the stream. */
  private enqueue(frame: Envelope, size: number | undefined): boolean {
    if (frame.event_type === EventTypes.STARTED) this.readCapabilities(frame);
    else if (frame.event_type === EventTypes.DELTA && !this.firstDeltaSeen) {
      this.firstDeltaSeen = true;
      this.tracing?.span.addEvent('acp.first_delta');
    }
    this.framesReceived++;
    if (this.queue === NO_FRAMES) this.queue = [frame];
    else this.queue.push(frame);
    // Bytes are counted only for a responder without flow control (known from its first frame, `started`). A frame
    // released from the reorder buffer by another is counted at that one's size (its own is not kept: the reorder
    // buffer has its own bound, and in-order delivery, the usual case, is exact).
    if (!this.peerFlow) {
      if (this.sizes) this.sizes.push(size ?? 0);
      else this.sizes = [size ?? 0];
      this.bufferedBytes += size ?? 0;
    }
    if (!isTerminalEventType(frame.event_type)) return false;
    if (frame.event_type === EventTypes.ERROR) this.terminalError = BusError.fromPayload(frame.payload, frame);
    this.finish();
    return true;
  }

  /** @internal Ends the call with an error; `cancelRemote` also tells the responder. */
  fail(err: BusError, cancelRemote: boolean): void {
    if (this.finished) {
      return;
    }
    if (!cancelRemote && this.retryInstead(err)) return;
    if (cancelRemote) this.cancelResponder(false);
    this.failure = err;
    this.finish();
    this.wake();
  }

  /**
   * Tells the responder the call is over: on its control subject when it named one with `cancel`; not at all when it
   * has answered without (an upstream runtime, which has no cancellation); before any answer, as the caller decides
   * for the target.
   */
  private cancelResponder(atDeadline: boolean): void {
    if (!this.request) return;
    if (this.peerCancel) this.bus.cancelRemote(this.target, this.request, this.controlSubject);
    else if (!this.receivedAny) this.bus.cancelRemote(this.target, this.request, undefined, atDeadline);
  }

  private readCapabilities(started: Envelope): void {
    const ext = parseExtensions(started.metadata?.[MetaKeys.EXT]);
    this.bus.noteExtensions(this.target, ext, started.metadata?.[MetaKeys.LIVENESS]);
    const ctl = started.metadata?.[MetaKeys.CONTROL];
    // The control subject comes from the responder: one that is not safe to publish to is ignored (no cancel, no credit).
    if (isPublishableSubject(ctl)) {
      this.controlSubject = ctl;
      this.peerFlow = ext.has(Extensions.FLOW);
      if (this.peerFlow) this.bufferLimit = Math.max(this.bufferLimit, this.window * 2);
      this.peerCancel = ext.has(Extensions.CANCEL);
      const every = started.metadata?.[MetaKeys.LIVENESS];
      if (this.peerCancel && typeof every === 'number' && every > 0) {
        this.responderWatch = new ResponderWatch(every, this.framesReceived, Date.now());
      }
    }
  }

  /** @internal A liveness probe from the responder arrived. */
  heardFromResponder(): void {
    this.responderWatch?.heard();
  }

  /**
   * @internal Called by the caller every livenessInterval: a responder that has gone silent ends the stream now with a
   * retryable AGENT_UNAVAILABLE instead of at its deadline. `stalled`: this process was blocked since the last check.
   */
  checkResponder(now: number, stalled = false): void {
    const w = this.responderWatch;
    if (!w || this.finished) return;
    const quietMs = w.silentFor(now, this.framesReceived, stalled);
    if (quietMs === undefined) return;
    const why = `stream "${this.target}": the responder went silent (no frame and no liveness probe for ${quietMs} ms)`;
    this.fail(new BusError(ErrorCodes.AGENT_UNAVAILABLE, why, { retryable: true }), true);
  }

  private take(): IteratorResult<Envelope> {
    if (!this.peerFlow) this.bufferedBytes -= this.sizes![this.head];
    const frame = this.queue[this.head++];
    if (this.head === this.queue.length) {
      // Drained, the usual case: the next frame starts a one-slot array. A stream that waits for its next frame kept
      // its last frames here, then an empty 17-slot array: 150 bytes or more for each open stream.
      this.queue = NO_FRAMES;
      this.sizes = undefined;
      this.head = 0;
    } else {
      (this.queue as (Envelope | undefined)[])[this.head - 1] = undefined;
      if (this.head > 1024 && this.head * 2 > this.queue.length) {
        this.queue = this.queue.slice(this.head);
        this.sizes = this.sizes?.slice(this.head);
        this.head = 0;
      }
    }
    const terminal = isTerminalEventType(frame.event_type);
    if (!terminal) this.grantCredit();
    else {
      this.done = true;
      if (frame.event_type === EventTypes.ERROR && !this.options.yieldErrors) {
        throw BusError.fromPayload(frame.payload, frame);
      }
      this.finalFrame = frame;
    }
    return { value: frame, done: false };
  }

  private grantCredit(): void {
    if (!this.peerFlow || this.finished || !this.controlSubject || !this.request) return;
    this.consumedSinceCredit++;
    if (this.consumedSinceCredit * 2 >= this.window) {
      this.bus.sendControl(this.controlSubject, ControlEventTypes.CREDIT, this.request.event_id, {
        [MetaKeys.CREDIT]: this.consumedSinceCredit,
      });
      this.consumedSinceCredit = 0;
    }
  }

  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    if (this.slot) cancelDeadline(this.slot, this);
    if (this.startedAt)
      this.bus.endCall(
        { kind: 'stream', target: this.target, started: this.startedAt, tracing: this.tracing },
        this.failure ?? this.terminalError,
        this.framesReceived,
      );
    if (this.linked) {
      unlistenAll(this.linked, this);
      this.linked = undefined;
    }
    this.bus.forgetCall(this.callId);
  }

  private wake(): void {
    const w = this.waiter;
    if (!w) return;
    if (this.head < this.queue.length) {
      this.waiter = undefined;
      try {
        w.resolve(this.take());
      } catch (err) {
        w.reject(err);
      }
    } else if (this.failure) {
      this.waiter = undefined;
      this.done = true;
      w.reject(this.failure);
    } else if (this.done) {
      this.waiter = undefined;
      w.resolve(DONE);
    }
  }
}

const DONE: IteratorResult<Envelope> = { value: undefined, done: true };
/** The queue of a call with no frame waiting to be read; never pushed to (enqueue replaces it). */
const NO_FRAMES: Envelope[] = [];
