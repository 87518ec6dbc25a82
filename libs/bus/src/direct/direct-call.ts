import type { CallContext, SessionInfo, TraceInfo } from '../context/call-context.js';
import { sessionOf, traceOf } from '../context/envelope-call-context.js';
import { BusError } from '../errors/bus-error.js';
import { ErrorCodes } from '../errors/error-codes.js';
import { EventTypes, type Envelope } from '../protocol/envelope.js';
import { createReply } from '../protocol/envelope-factory.js';
import { LazyAbort } from '../utils/lazy-abort.js';
import { callerGoneError, cancelledByCallerError, deadlineExceededError } from '../errors/handler-failures.js';
import {
  cancelDeadline,
  scheduleDeadline,
  scheduleDeadlineAfterTurn,
  type DeadlineSlot,
  type DeferredExpiring,
} from '../timers/deadline-wheel.js';
import { jsonClone } from '../utils/json-clone.js';
import type { BusStats } from '../runtime/bus-stats.js';
import type { DirectEndpoint } from '../transport/transport.interface.js';
import { deliveryTurn } from '../utils/delivery-queue.js';
import type { CallOptions } from '../interfaces/call-options.interface.js';
import { cancelledError } from '../caller/cancelled-error.js';

/** What a direct call needs from the caller that made it. */
export interface DirectCallerHost {
  readonly stats: BusStats;
  /** The request envelope of the call, as the message path would have delivered it. */
  directRequest(call: DirectCall, options: CallOptions, ctx: CallContext | undefined): Envelope;
  /** The call has settled. */
  forgetDirect(): void;
}

/** The serving side of a direct call, as the call needs to reach it when the caller gives up first. */
export interface DirectServer {
  /** Ends the handler's part of `call`: aborts its signal with `reason`, frees its slot, records it. */
  abandon(call: DirectCall, reason: BusError): void;
}

/**
 * An invoke handed straight to a handler in the same process (MemoryTransport, one receiver): both ends of the
 * call in one object, with no envelope, no message and no timer of its own. It is the caller's pending call, the
 * handler's abort source (it is a LazyAbort) and the handler's CallContext, whose envelope, session and trace are
 * built only when read, equal to what the message path would have delivered. Payload and result are copied with
 * JSON semantics, as on the message path, so neither side can mutate the other's objects.
 */
export class DirectCall extends LazyAbort implements CallContext, DeferredExpiring {
  readonly promise: Promise<unknown>;
  settled = false;
  /** Set by the responder while the handler runs. */
  server?: DirectServer;
  /** The responder's registration serving the call, until the handler's part ends (opaque here). */
  registration?: object = undefined;
  /** @internal Where the deadline sits on the wheel, once it is there. */
  slot?: DeadlineSlot = undefined;
  private unlink?: () => void;
  private resolveFn!: (value: unknown) => void;
  private rejectFn!: (err: BusError) => void;
  private request?: Envelope;
  private sessionInfo?: SessionInfo;
  private traceInfo?: TraceInfo;
  /** The caller's deadline, as the request envelope carries it (`deadline` may become the handler's). */
  readonly callerDeadline: number;
  /** The delivery turn the call was queued in (see deliveryTurn). */
  private readonly enqueuedTurn: number;
  /** @internal performance.now() when a handler with discovery counters took the call and times it (its STATS). */
  servedAt = 0;

  constructor(
    /** @internal */
    readonly caller: DirectCallerHost,
    private readonly endpoint: DirectEndpoint<DirectCall>,
    readonly target: string,
    /** The handler's own copy of the payload. */
    readonly payload: unknown,
    private readonly options: CallOptions,
    private readonly callerCtx: CallContext | undefined,
    public deadline: number,
    /** @internal When the caller made the call (epoch ms). */
    readonly startedAt: number,
  ) {
    super();
    this.callerDeadline = deadline;
    this.enqueuedTurn = deliveryTurn();
    // One shared executor instead of a closure per call (this is the hottest allocation site of a direct call).
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- read by the shared executor during `new Promise`
    constructing = this;
    this.promise = new Promise<unknown>(captureResolvers);
  }

  /**
   * @internal The time the handler starts, for its deadline checks. A call served in the delivery turn it was made
   * in is microseconds old, so its start time serves without a clock read (Date.now() costs up to a tenth of a
   * direct call on some VMs); a call the queue made wait for a later turn reads the clock.
   */
  arrivalTime(): number {
    return this.enqueuedTurn === deliveryTurn() ? this.startedAt : Date.now();
  }

  /** @internal Run by the delivery queue: hands the call to its handler. */
  run(): void {
    this.endpoint.serve(this);
  }

  get kind(): 'invoke' {
    return 'invoke';
  }

  /** @internal Called by the Promise executor, synchronously inside the constructor. */
  setResolvers(resolve: (value: unknown) => void, reject: (err: BusError) => void): void {
    this.resolveFn = resolve;
    this.rejectFn = reject;
  }

  /** @internal Arms the deadline; returns false when the call already ended (an aborted signal). */
  start(unlink: () => void): boolean {
    if (this.settled) {
      unlink();
      return false;
    }
    this.unlink = unlink;
    // Most direct calls end within the turn they start in: their deadline goes on the wheel only if not.
    scheduleDeadlineAfterTurn(this);
    return true;
  }

  /** @internal The handler's timeout is tighter than the caller's deadline: the call now ends at `at`. */
  tightenDeadline(at: number): void {
    this.deadline = at;
    if (this.slot) {
      cancelDeadline(this.slot, this);
      this.slot = scheduleDeadline(at, this);
    }
  }

  // ------------------------------------------------------------ CallContext, built on first read

  get envelope(): Envelope {
    return (this.request ??= this.caller.directRequest(this, this.options, this.callerCtx));
  }

  get session(): Readonly<SessionInfo> {
    return (this.sessionInfo ??= sessionOf(this.envelope));
  }

  get trace(): Readonly<TraceInfo> {
    return (this.traceInfo ??= traceOf(this.envelope));
  }

  // ------------------------------------------------------------ endings

  /** The handler returned `result`: the caller gets its copy (a value that cannot be encoded is CODEC_FAILURE). */
  complete(result: unknown, from: string): void {
    if (this.settled) return;
    let copy: unknown;
    try {
      copy = jsonClone(result);
    } catch (err) {
      this.failFromServer(new BusError(ErrorCodes.CODEC_FAILURE, `reply could not be encoded: ${(err as Error).message}`), from);
      return;
    }
    this.settle();
    // As `resultOf` reads a final frame: `{result}` gives the result, an empty payload (no result) gives `{}`.
    this.resolveFn(copy === undefined ? {} : copy);
  }

  /** The handler failed (or was refused): the caller gets the error as it would read it from an error frame. */
  failFromServer(error: BusError, from: string): void {
    if (this.settled) return;
    this.settle();
    const frame = jsonClone(createReply(this.envelope, EventTypes.ERROR, error.toPayload(), { from, isFinal: true }));
    this.rejectFn(BusError.fromPayload(frame.payload, frame));
  }

  /** The caller side ends the call (closed client, transport failure): the handler, if running, is abandoned. */
  fail(err: BusError): void {
    if (this.settled) return;
    this.settle();
    this.server?.abandon(this, callerGoneError());
    this.rejectFn(err);
  }

  /** @internal The deadline passed (called by the deadline wheel). */
  expire(): void {
    if (this.settled) return;
    this.slot = undefined;
    const reason = deadlineExceededError(this.target);
    this.settle();
    this.server?.abandon(this, reason);
    // The deadline is the handler's own (tighter) timeout when it is no longer the caller's.
    this.rejectFn(
      this.deadline !== this.callerDeadline
        ? reason
        : new BusError(
            ErrorCodes.AGENT_TIMEOUT,
            `invoke "${this.target}" timed out after ${Math.max(0, this.callerDeadline - this.startedAt)} ms`,
          ),
    );
  }

  /** @internal The caller's signal (or its enclosing call's) aborted. */
  cancel(reason: unknown): void {
    if (this.settled) return;
    this.caller.stats.cancelledByCaller++;
    this.settle();
    this.server?.abandon(this, cancelledByCallerError());
    this.rejectFn(cancelledError(reason, `invoke "${this.target}"`));
  }

  private settle(): void {
    this.settled = true;
    if (this.slot) cancelDeadline(this.slot, this);
    this.unlink?.();
    this.caller.forgetDirect();
  }
}

let constructing: DirectCall | undefined;

function captureResolvers(resolve: (value: unknown) => void, reject: (err: BusError) => void): void {
  constructing!.setResolvers(resolve, reject);
  constructing = undefined;
}
