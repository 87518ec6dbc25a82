import { type BusClient, createReply, type Envelope, EventTypes, type StreamCall, type StreamOptions } from '@openagentio/nestjs';
import { createEvent } from '@openagentio/nestjs/internal/protocol/envelope-factory.js';
import { isTerminalEventType } from '@openagentio/nestjs/internal/protocol/envelope.js';
import { toBusError } from '@openagentio/nestjs/internal/errors/to-bus-error.js';
import { ReplayBuffer } from './replay-buffer.js';

/** Receives a stream's frames; a promise it returns holds the stream until it settles (the client is slow). */
export type FrameListener = (frame: Envelope) => void | Promise<void>;

/**
 * One bus stream run by the gateway. Frames are buffered (bounded) so clients can attach by id and resume with
 * Last-Event-ID; the call is cancelled when its last client leaves (at once, or after a grace period).
 */
export class GatewayStream {
  readonly buffer: ReplayBuffer;
  private readonly listeners = new Set<FrameListener>();
  private call?: StreamCall;
  ended = false;
  private graceTimer?: NodeJS.Timeout;
  private firstFrameWaiters: Array<() => void> = [];
  private lastSeq = -1;
  private request?: Envelope;
  readonly createdAt = Date.now();
  endedAt = 0;

  constructor(
    /** Unique among the gateway's replicas (PeerStreams names the replica in it). */
    readonly id: string,
    private readonly bus: BusClient,
    readonly target: string,
    private readonly payload: unknown,
    private readonly options: StreamOptions,
    /** Key of the identity that started it; only the same identity may attach. */
    readonly ownerKey: string,
    /** Cancel when the last client leaves after this many ms (0 = at once). */
    private readonly graceMs: number,
    replayFrames: number,
    private readonly onEnded: (s: GatewayStream) => void,
    replayBytes = Infinity,
  ) {
    this.buffer = new ReplayBuffer(replayFrames, replayBytes);
  }

  /** Runs without a client attached for a while (started detached, or from an EventSource). */
  get detached(): boolean {
    return this.graceMs > 0;
  }

  get listenerCount(): number {
    return this.listeners.size;
  }

  /** Starts the bus call and pumps its frames into the buffer and to the attached clients. */
  start(): void {
    this.call = this.bus.stream(this.target, this.payload, { ...this.options, yieldErrors: true });
    void this.pump(this.call);
    if (this.listeners.size === 0) this.scheduleGrace();
  }

  private async pump(call: StreamCall): Promise<void> {
    try {
      for await (const frame of call) {
        this.request ??= call.requestEnvelope;
        const held = this.emit(frame);
        if (isTerminalEventType(frame.event_type)) return;
        // Not pulling the next frame while a client catches up is what stops the bus granting credit.
        if (held) await held;
      }
      // ended without a terminal frame: cancelled by the gateway (client gone, DELETE) or the caller side
      this.emit(this.errorFrame(call, new Error('stream cancelled')), true);
    } catch (err) {
      this.emit(this.errorFrame(call, err), true);
    } finally {
      this.finish();
    }
  }

  private errorFrame(call: StreamCall, err: unknown): Envelope {
    const e =
      err instanceof Error && err.message === 'stream cancelled'
        ? { code: 'AGENT_UNAVAILABLE', message: 'stream cancelled', retryable: false, cause: { reason: 'cancelled' } }
        : toBusError(err).toPayload();
    const req = call.requestEnvelope;
    if (req) return createReply(req, EventTypes.ERROR, e, { from: this.bus.agentId, seq: this.lastSeq + 1, isFinal: true });
    const env = createEvent(EventTypes.ERROR, e, { from: this.bus.agentId });
    env.is_final = true;
    return env;
  }

  private emit(frame: Envelope, synthetic = false): Promise<void> | undefined {
    if (this.ended) return undefined;
    if (!synthetic && typeof frame.seq === 'number') this.lastSeq = Math.max(this.lastSeq, frame.seq);
    else if (!synthetic) this.lastSeq++;
    this.buffer.push(frame);
    for (const w of this.firstFrameWaiters.splice(0)) w();
    let held: Promise<void> | undefined;
    for (const l of [...this.listeners]) {
      const wait = l(frame);
      if (wait) held = held ? Promise.all([held, wait]).then(() => undefined) : wait;
    }
    if (isTerminalEventType(frame.event_type)) this.finish();
    return held;
  }

  private finish(): void {
    if (this.ended) return;
    this.ended = true;
    this.endedAt = Date.now();
    if (this.graceTimer) clearTimeout(this.graceTimer);
    for (const w of this.firstFrameWaiters.splice(0)) w();
    this.onEnded(this);
  }

  /** Resolves when the first frame (or the end) has arrived, or after `ms`. */
  firstFrame(ms: number): Promise<void> {
    if (this.buffer.size > 0 || this.ended) return Promise.resolve();
    return new Promise((resolve) => {
      const t = setTimeout(resolve, ms);
      this.firstFrameWaiters.push(() => {
        clearTimeout(t);
        resolve();
      });
    });
  }

  /**
   * Attaches a client: replays what it missed after `lastEventId` (everything buffered without one), then
   * delivers live frames. Returns the detach function.
   */
  attach(listener: FrameListener, lastEventId?: string, replay = true): () => void {
    if (this.graceTimer) clearTimeout(this.graceTimer);
    this.graceTimer = undefined;
    if (replay) for (const f of this.buffer.after(lastEventId)) listener(f);
    if (this.ended) return () => {};
    this.listeners.add(listener);
    return () => {
      if (!this.listeners.delete(listener)) return;
      if (this.listeners.size === 0 && !this.ended) this.scheduleGrace();
    };
  }

  /** Cancels the bus call (the remote handler's AbortSignal fires). */
  cancel(reason = 'cancelled by the client'): void {
    if (this.ended) return;
    this.call?.cancel(reason);
  }

  private scheduleGrace(): void {
    if (this.graceMs <= 0) {
      this.cancel('client disconnected');
      return;
    }
    if (this.graceTimer) return;
    this.graceTimer = setTimeout(() => this.cancel('no client attached'), this.graceMs);
    this.graceTimer.unref();
  }
}

/** Running and recently finished gateway streams, by id. */
export class StreamRegistry {
  private readonly streams = new Map<string, GatewayStream>();
  private sweeper?: NodeJS.Timeout;

  constructor(private readonly retentionMs: number) {}

  create(make: (onEnded: (s: GatewayStream) => void) => GatewayStream): GatewayStream {
    const s = make(() => this.sweepSoon());
    this.streams.set(s.id, s);
    return s;
  }

  get(id: string): GatewayStream | undefined {
    return this.streams.get(id);
  }

  get size(): number {
    return this.streams.size;
  }

  /** The stream one of whose buffered frames has this event id (how a GET-started EventSource resumes). */
  findByEventId(eventId: string): GatewayStream | undefined {
    for (const s of this.streams.values()) if (s.buffer.has(eventId)) return s;
    return undefined;
  }

  /** Detached streams of one identity that have not ended (the quota counts them). */
  detachedOf(ownerKey: string): number {
    let n = 0;
    for (const s of this.streams.values()) if (!s.ended && s.detached && s.ownerKey === ownerKey) n++;
    return n;
  }

  running(): GatewayStream[] {
    return [...this.streams.values()].filter((s) => !s.ended);
  }

  cancelAll(): void {
    for (const s of this.streams.values()) s.cancel('gateway shutting down');
    if (this.sweeper) clearTimeout(this.sweeper);
  }

  private sweepSoon(): void {
    if (this.sweeper) return;
    this.sweeper = setTimeout(
      () => {
        this.sweeper = undefined;
        const now = Date.now();
        let pending = false;
        for (const [id, s] of this.streams) {
          if (s.ended && now - s.endedAt >= this.retentionMs) this.streams.delete(id);
          else if (s.ended) pending = true;
        }
        if (pending) this.sweepSoon();
      },
      Math.max(50, this.retentionMs),
    );
    this.sweeper.unref();
  }
}
