import { BusError } from '../errors/bus-error.js';
import { ErrorCodes } from '../errors/error-codes.js';
import type { Envelope } from '../protocol/envelope.js';
import { ControlEventTypes, MetaKeys } from '../protocol/extensions.js';
import type { TransportMessage, TransportSubscription } from '../transport/transport.interface.js';
import type { BusRuntime } from './bus-runtime.js';
import type { ControlChannel } from './control-channel.js';

/** A pending invoke, as the router sees it. */
export interface InboxInvoke {
  onMessage(msg: TransportMessage): void;
  fail(err: BusError): void;
  /** A liveness probe arrived from the responder, which probes every `everyMs` (0: it did not say). */
  heardFromResponder(everyMs: number): void;
  /** Called every livenessInterval: ends the call when a responder that probed has gone silent. */
  checkResponder(now: number, stalled: boolean): void;
}

/** A pending stream, as the router sees it. */
export interface InboxStream {
  onMessage(msg: TransportMessage): void;
  fail(err: BusError, cancelRemote: boolean): void;
  /** A liveness probe arrived from the responder. */
  heardFromResponder(): void;
}

/**
 * The one reply inbox of a bus (`{inbox}.>`): replies to pending invokes and streams by call id, liveness probes
 * answered for them, and control frames for calls this bus serves (`{inbox}.ctl.{request id}`) handed to the
 * responder. One subscription for every call, so a call costs no SUB/UNSUB.
 */
export class InboxRouter {
  readonly invokes = new Map<string, InboxInvoke>();
  readonly streams = new Map<string, InboxStream>();
  /** Control frames addressed to requests this bus serves (set by the responder's owner). */
  onControl?: (requestId: string, msg: TransportMessage) => void;
  /** Called when the inbox is refused after connecting: every call in flight must end. */
  onLost?: (err: BusError) => void;
  private sub?: TransportSubscription;

  constructor(
    private readonly rt: BusRuntime,
    private readonly control: ControlChannel,
  ) {}

  /** Subscribes the inbox and waits for the server to accept it; a refused inbox fails here. */
  async open(): Promise<void> {
    const { rt } = this;
    rt.inboxError = undefined;
    this.sub = rt.transport.subscribe(`${rt.inbox}.>`, (m) => this.route(m), { onRefused: (e) => this.onRefused(e) });
    // The server answers a subscription it refuses before the flush's PONG: such a connection could send calls
    // but never hear a reply, so it fails here instead of every call waiting out its deadline.
    await rt.transport.flush();
    if (rt.inboxError) {
      this.sub.unsubscribe();
      throw rt.inboxError;
    }
  }

  close(): void {
    this.sub?.unsubscribe();
  }

  get pending(): number {
    return this.invokes.size + this.streams.size;
  }

  forget(callId: string): void {
    this.invokes.delete(callId);
    this.streams.delete(callId);
  }

  /** Ends every call waiting for a reply with `err`. */
  failAll(err: BusError): void {
    for (const call of [...this.invokes.values()]) call.fail(err);
    for (const call of [...this.streams.values()]) call.fail(err, false);
  }

  // The reply inbox subscription was refused (after connect too, e.g. permissions reloaded): calls cannot be
  // answered, so those in flight end now and new ones fail at once; handlers and events still work.
  private onRefused(error: BusError): void {
    const { rt } = this;
    rt.inboxError = new BusError(
      ErrorCodes.AUTH_FAILURE,
      `${error.message}: that is this bus's reply inbox, so its calls could not be answered; allow the user to subscribe to "${rt.inbox.slice(0, rt.inbox.lastIndexOf('.'))}.>", or set the transport's inboxPrefix to a prefix it may subscribe to`,
      { retryable: false, cause: { inbox: rt.inbox } },
    );
    if (rt.connected) this.onLost?.(rt.inboxError);
  }

  private route(msg: TransportMessage): void {
    const token = msg.subject.slice(this.rt.inbox.length + 1);
    if (token.startsWith('ctl.')) {
      this.onControl?.(token.slice(4), msg);
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
    if (msg.envelope) this.rt.stats.lateReplies++;
  }

  // Liveness probe from a responder: say whether this call is still wanted.
  private answerPing(callId: string, ping: Envelope, reply: string | undefined): void {
    if (!reply) return;
    const stream = this.streams.get(callId);
    stream?.heardFromResponder();
    const invoke = stream ? undefined : this.invokes.get(callId);
    if (invoke) {
      // Our responders say how often they probe; an invoke watches for the probes from then on.
      const every = ping.metadata?.[MetaKeys.LIVENESS];
      invoke.heardFromResponder(typeof every === 'number' && every > 0 ? every : 0);
    }
    const alive = stream !== undefined || invoke !== undefined;
    this.control.send(reply, alive ? ControlEventTypes.PONG : ControlEventTypes.CANCEL, ping.correlation_id ?? '');
  }
}
