import type { BusError } from '../errors/bus-error.js';
import type { Envelope } from '../protocol/envelope.js';

/** One message as a transport delivers it: a decoded envelope, a status, or a body that failed to decode. */
export interface TransportMessage {
  readonly subject: string;
  /** Transport-level reply subject (the NATS reply field), if any. */
  readonly reply?: string;
  readonly envelope?: Envelope;
  /** `no-responders`: a request published with a reply subject reached no subscriber. */
  readonly status?: 'no-responders';
  /** Set instead of `envelope` when the body could not be decoded or failed the schema. */
  readonly error?: BusError;
  /** The body's size on the wire in bytes (reassembled, for a chunked message), where the transport knows it. */
  readonly size?: number;
}

export type TransportMessageHandler = (msg: TransportMessage) => void;

export interface TransportSubscribeOptions {
  /** Queue group: each message goes to one member of the group. */
  queue?: string;
  /**
   * The same handler reached without a message, for a transport that can hand a call straight to a receiver in
   * its own process (`routeDirect`). Transports without that ignore it.
   */
  direct?: DirectEndpoint;
  /**
   * Called once if the server refuses the subscription (a permission the connection lacks); it receives nothing
   * after that. Transports that never refuse never call it.
   */
  onRefused?: (error: BusError) => void;
}

/** A receiver in this process that takes a call object instead of a message; the bus defines the call. */
export interface DirectEndpoint<C = never> {
  serve(call: C): void;
}

export interface TransportSubscription {
  readonly subject: string;
  unsubscribe(): void;
}

export interface TransportPublishOptions {
  /** Transport reply subject; with it, a publish that reaches nobody produces a `no-responders` status. */
  reply?: string;
  /**
   * Whether the receiver understands chunked messages (the `chunk` extension). Default true: a message above
   * the server's max_payload is chunked. False (a reply to a peer that did not advertise `chunk`): such a
   * message is refused with BusError INVALID_REQUEST instead. Transports without a size limit ignore it.
   */
  chunk?: boolean;
  /**
   * May go out with the other publishes of this event-loop turn in one write (stream deltas: a producer writing
   * frame after frame). Order with immediate publishes is kept. Errors of encoding still throw at once.
   */
  defer?: boolean;
  /**
   * Encodes this envelope to its wire JSON in place of the generic encoder, for a sender that can do it faster
   * (the responder's reply frames, see replyEncoder). Transports that send objects ignore it.
   */
  encode?: (envelope: Envelope) => string;
}

export type TransportStatus = 'connected' | 'disconnected' | 'reconnecting' | 'closed';

/**
 * What the bus needs from a message transport: NATS semantics (subjects with `*`/`>` wildcards, queue groups,
 * fan-out, inboxes, no-responders) and nothing more. Implementations: MemoryTransport, NatsTransport.
 *
 * Everything above this interface (request/reply, streams, flow control, cancellation, deadlines) is protocol,
 * so both transports behave the same.
 */
export interface Transport {
  readonly kind: string;
  connect(): Promise<void>;
  /** Drains and closes; safe to call twice. */
  close(): Promise<void>;
  /** Publishes an envelope; delivery is always asynchronous. Throws BusError for a closed transport or bad subject. */
  publish(subject: string, envelope: Envelope, opts?: TransportPublishOptions): void;
  subscribe(subject: string, handler: TransportMessageHandler, opts?: TransportSubscribeOptions): TransportSubscription;
  /** A new unique inbox prefix (`_INBOX.<id>`); subscribe `<prefix>.>` to receive everything under it. */
  newInbox(): string;
  /** Resolves when everything published so far has reached the server. */
  flush(): Promise<void>;
  readonly status: TransportStatus;
  /**
   * Optional, for in-process transports. The direct endpoint a message on `subject` would reach, picked the way
   * `publish` picks (queue-group rotation), when every receiver of the subject is one; `null` when nothing would
   * receive it; `undefined` when it must travel as a message (another receiver listens, or bodies are validated).
   */
  routeDirect?(subject: string): DirectEndpoint<unknown> | null | undefined;
  /** With `routeDirect`: runs `call.run()` later, in order with deliveries, as a delivery would run. */
  deliverDirect?(call: { run(): void }): void;
  onStatus(listener: (status: TransportStatus, detail?: string) => void): () => void;
}
