import { BusError } from '../errors/bus-error.js';
import { ErrorCodes } from '../errors/error-codes.js';
import { EventTypes, type Envelope } from '../protocol/envelope.js';
import { MetaKeys, parseExtensions } from '../protocol/extensions.js';
import type { TransportMessage } from '../transport/transport.interface.js';
import { linkSignals, noop } from '../utils/abort-link.js';
import type { BusStats } from '../runtime/bus-stats.js';
import { cancelledError } from './cancelled-error.js';
import { resultOf } from './result-of.js';
import { belongsTo } from './frame-origin.js';
import type { CallContext } from '../context/call-context.js';
import { cancelDeadline, scheduleDeadline, type DeadlineSlot, type Expiring } from '../timers/deadline-wheel.js';

/** What a pending invoke needs from the caller that made it. */
export interface InvokeHost {
  readonly stats: BusStats;
  forgetCall(callId: string): void;
  cancelRemote(target: string, request: Envelope, controlSubject?: string, atDeadline?: boolean): void;
  /** A reply without `acp.ext`. */
  noteNoExtensions(target: string): void;
  /** A reply named the responder's extensions (`acp.ext`). */
  noteExtensions(target: string, ext: ReadonlySet<string>, livenessMs?: unknown): void;
  /** An invoke watched from its start got no probe (its responder died, or does not probe). */
  forgetProbes(target: string): void;
}

/** One invoke in flight on the caller: waits for the terminal reply, the deadline or an abort. */
export class PendingInvoke implements Expiring {
  /** The reply envelope, or with `unwrap` its result. */
  readonly promise: Promise<unknown>;
  settled = false;
  private resolve!: (value: unknown) => void;
  private reject!: (err: BusError) => void;
  private readonly slot: DeadlineSlot;
  private readonly timeoutMs: number;
  private readonly unlink: () => void;
  /**
   * How often the responder probes: known from the start when earlier replies of the target said so (`expected`),
   * else from its first probe; 0 until then, and for peers that never probe.
   */
  private probeEveryMs = 0;
  private heardAt = 0;
  /** Watched from the start on what earlier replies said, and no probe has come yet. */
  private expected = false;

  constructor(
    private readonly bus: InvokeHost,
    readonly callId: string,
    private readonly target: string,
    private readonly request: Envelope,
    deadline: number,
    signal: AbortSignal | undefined,
    parent: CallContext | undefined,
    /** Resolve with the result (as `resultOf` reads it) instead of the reply envelope: one promise less for invoke(). */
    private readonly unwrap = false,
    /** How often the target's responders probe, as earlier replies said (0: unknown, wait for a probe). */
    expectProbesEveryMs = 0,
  ) {
    this.promise = new Promise<unknown>((res, rej) => {
      this.resolve = res;
      this.reject = rej;
    });
    const now = Date.now();
    this.timeoutMs = Math.max(0, deadline - now);
    if (expectProbesEveryMs > 0) {
      this.probeEveryMs = expectProbesEveryMs;
      this.heardAt = now;
      this.expected = true;
    }
    this.slot = scheduleDeadline(deadline, this);
    this.unlink = signal || parent ? linkSignals([signal, parent?.signal], (reason) => this.abort(reason)) : noop;
  }

  onMessage(msg: TransportMessage): void {
    if (this.settled) return;
    if (msg.status === 'no-responders') {
      this.fail(new BusError(ErrorCodes.NO_HANDLER, `no handler for target "${this.target}"`));
      return;
    }
    const env = msg.envelope;
    if (!env) {
      this.fail(msg.error ?? new BusError(ErrorCodes.CODEC_FAILURE, 'undecodable reply'));
      return;
    }
    if (!belongsTo(env, this.request)) {
      this.bus.stats.foreignFrames++;
      return;
    }
    const ext = env.metadata?.[MetaKeys.EXT];
    if (ext !== undefined) this.bus.noteExtensions(this.target, parseExtensions(ext), env.metadata?.[MetaKeys.LIVENESS]);
    else this.bus.noteNoExtensions(this.target);
    if (this.expected) this.checkProbed();
    if (env.event_type === EventTypes.FINAL || env.event_type === EventTypes.TOOL_RESULT) {
      this.settle();
      this.resolve(this.unwrap ? resultOf(env) : env);
    } else if (env.event_type === EventTypes.ERROR) {
      this.fail(BusError.fromPayload(env.payload, env));
    }
    // started/delta frames from a stream handler: an invoke waits for the terminal frame.
  }

  fail(err: BusError): void {
    if (this.settled) return;
    this.settle();
    this.reject(err);
  }

  /** @internal The deadline passed (called by the deadline wheel). */
  expire(): void {
    if (this.settled) return;
    this.bus.cancelRemote(this.target, this.request, undefined, true);
    this.fail(new BusError(ErrorCodes.AGENT_TIMEOUT, `invoke "${this.target}" timed out after ${this.timeoutMs} ms`));
  }

  heardFromResponder(everyMs: number): void {
    if (everyMs > 0) this.probeEveryMs = everyMs;
    this.heardAt = Date.now();
    this.expected = false;
  }

  /**
   * A reply came to an invoke watched from its start that no probe has reached. A responder that probes does so
   * within 2N of the start; past 2.5N, this one does not (an upstream runtime sharing the queue group).
   */
  private checkProbed(): void {
    if (Date.now() - this.heardAt > 2.5 * this.probeEveryMs) this.bus.forgetProbes(this.target);
  }

  /**
   * A responder that probed every N ms and has sent nothing for 3N is taken as gone (its process or connection
   * died): the invoke ends now with a retryable AGENT_UNAVAILABLE instead of at its deadline. Only calls whose
   * responder has probed, or whose target's responders said they probe, are watched, so peers without liveness
   * probes (upstream runtimes) are not judged (at most once, in a queue group shared with ours: see forgetProbes).
   * `stalled`: this process was blocked since the last check, so the quiet time restarts.
   */
  checkResponder(now: number, stalled: boolean): void {
    if (this.probeEveryMs === 0 || this.settled) return;
    if (stalled) {
      this.heardAt = now;
      return;
    }
    const quietMs = now - this.heardAt;
    if (quietMs <= 3 * this.probeEveryMs) return;
    if (this.expected) this.bus.forgetProbes(this.target);
    this.bus.cancelRemote(this.target, this.request);
    this.fail(
      new BusError(
        ErrorCodes.AGENT_UNAVAILABLE,
        `invoke "${this.target}": the responder went silent (no liveness probe for ${quietMs} ms)`,
        { retryable: true },
      ),
    );
  }

  private abort(reason: unknown): void {
    if (this.settled) return;
    this.bus.cancelRemote(this.target, this.request);
    this.bus.stats.cancelledByCaller++;
    this.fail(cancelledError(reason, `invoke "${this.target}"`));
  }

  private settle(): void {
    this.settled = true;
    cancelDeadline(this.slot, this);
    this.unlink();
    this.bus.forgetCall(this.callId);
  }
}
