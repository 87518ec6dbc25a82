import type { StreamWriter } from '../interfaces/stream-writer.interface.js';
import { EventTypes } from '../protocol/envelope.js';
import { waitForCredit } from './flow-credit.js';
import { deltaPayload } from './frame-values.js';
import type { Inflight } from './inflight.js';
import type { ReplySender } from './reply-sender.js';

const RESOLVED: Promise<void> = Promise.resolve();

/** What a stream's writer needs from the runner that made it (one per responder, shared by every stream). */
export interface StreamWriterHost {
  readonly replies: ReplySender;
  readonly agentId: string;
  /** The `started` frame's metadata for a call (extensions, control subject, liveness), made when it is sent. */
  startedMetadata(call: Inflight): Record<string, unknown> | undefined;
}

/**
 * A stream handler's writer: numbers the frames without gaps and sends each as flow-control credit allows. A class
 * rather than closures over the run: an open stream keeps its writer for as long as the handler runs, and eight
 * closures, their contexts and an object literal with accessors (kept in dictionary mode) were about 1.5 KB of it.
 */
export class StreamFrameWriter implements StreamWriter {
  /** Frames sent so far: the seq of the next one. */
  private seq = 0;
  private startedSent = false;
  /** Sends that had to wait for credit, in call order; while one waits, later ones queue behind it. */
  private waiting?: Promise<void>;

  constructor(
    private readonly host: StreamWriterHost,
    private readonly call: Inflight,
    private readonly target: string,
  ) {}

  get sent(): number {
    return this.seq;
  }

  get signal(): AbortSignal {
    return this.call.abort.signal;
  }

  // Own arrow functions, as the closures were before: a handler may pass `writer.delta` on detached (a callback).
  readonly delta = (value: unknown): Promise<void> =>
    this.startedSent
      ? this.send(EventTypes.DELTA, deltaPayload(value))
      : this.sendStarted().then(() => this.send(EventTypes.DELTA, deltaPayload(value)));

  readonly data = (value: unknown): Promise<void> =>
    this.startedSent
      ? this.send(EventTypes.DELTA, { data: value })
      : this.sendStarted().then(() => this.send(EventTypes.DELTA, { data: value }));

  readonly started = (meta?: Record<string, unknown>): Promise<void> => this.sendStarted(meta);

  /** @internal The `started` frame, unless it has gone out. */
  sendStarted(meta?: Record<string, unknown>): Promise<void> {
    if (this.startedSent) return RESOLVED;
    this.startedSent = true;
    const { host } = this;
    return this.send(EventTypes.STARTED, { meta: { agent: host.agentId, target: this.target, ...meta } }, host.startedMetadata(this.call));
  }

  /** @internal Whether `started` has gone out. */
  get hasStarted(): boolean {
    return this.startedSent;
  }

  private send(eventType: string, payload: unknown, metadata?: Record<string, unknown>): Promise<void> {
    const signal = this.call.abort;
    if (signal.aborted) return Promise.reject(signal.reason);
    if (!this.waiting && this.call.credit > 0) {
      // The common case costs no promise: a handler awaiting every delta would otherwise make two per frame.
      try {
        this.publish(eventType, payload, metadata);
      } catch (err) {
        return Promise.reject(err);
      }
      return RESOLVED;
    }
    const sent = (this.waiting ?? RESOLVED).then(() => this.sendWithCredit(eventType, payload, metadata));
    this.waiting = sent;
    const clear = () => {
      if (this.waiting === sent) this.waiting = undefined;
    };
    sent.then(clear, clear);
    return sent;
  }

  private async sendWithCredit(eventType: string, payload: unknown, metadata?: Record<string, unknown>): Promise<void> {
    const { call } = this;
    const signal = call.abort;
    while (call.credit <= 0) {
      if (signal.aborted) throw signal.reason;
      await waitForCredit(call);
    }
    if (signal.aborted) throw signal.reason;
    this.publish(eventType, payload, metadata);
  }

  private publish(eventType: string, payload: unknown, metadata?: Record<string, unknown>): void {
    this.host.replies.frame(this.call, eventType, payload, this.seq, metadata);
    this.seq++;
    this.call.credit--;
  }
}
