import { randomBytes } from 'node:crypto';
import { BusError } from '../../errors/bus-error.js';
import { ErrorCodes } from '../../errors/error-codes.js';
import { asWireForm, decodeEnvelope } from '../../protocol/envelope-codec.js';
import { jsonClone } from '../../utils/json-clone.js';
import { codecError } from '../../errors/codec-error.js';
import type { Envelope } from '../../protocol/envelope.js';
import type {
  DirectEndpoint,
  Transport,
  TransportMessageHandler,
  TransportPublishOptions,
  TransportStatus,
  TransportSubscribeOptions,
  TransportSubscription,
} from '../transport.interface.js';
import { enqueueDelivery, type QueuedDelivery } from '../../utils/delivery-queue.js';
import { MemoryBroker, type BrokerSubscription } from './memory-broker.js';

export interface MemoryTransportOptions {
  /** The broker to connect to; defaults to the process-wide shared one. */
  broker?: MemoryBroker;
  /**
   * Decode every received body with full schema validation (as the NATS transport does). Off by default:
   * in-process peers are trusted, and each receiver still gets its own parsed copy.
   */
  validate?: boolean;
}

/**
 * The embedded transport: a connection to an in-process MemoryBroker with NATS semantics. Every receiver gets
 * its own copy of the envelope, made at publish time with JSON's semantics (`jsonClone`), so a handler can never
 * mutate the caller's objects and what works here serialises the same way over NATS. With `validate`, bodies
 * travel as JSON text and are decoded with full schema validation, as a network transport does.
 */
export class MemoryTransport implements Transport {
  readonly kind = 'memory';
  /** The broker this transport connects to (discovery keeps the registry of its services beside it). */
  readonly broker: MemoryBroker;
  private readonly validate: boolean;
  private readonly subs = new Set<BrokerSubscription>();
  private readonly statusListeners = new Set<(s: TransportStatus, d?: string) => void>();
  private state: TransportStatus = 'disconnected';
  private readonly inboxBase = `_INBOX.${randomBytes(8).toString('hex')}`;
  private inboxCounter = 0;

  constructor(options: MemoryTransportOptions = {}) {
    this.broker = options.broker ?? MemoryBroker.shared();
    this.validate = options.validate ?? process.env.ACP_VALIDATE_ALL === '1';
  }

  get status(): TransportStatus {
    return this.state;
  }

  async connect(): Promise<void> {
    this.setStatus('connected');
  }

  async close(): Promise<void> {
    if (this.state === 'closed') return;
    for (const sub of this.subs) this.broker.remove(sub);
    this.subs.clear();
    this.setStatus('closed');
  }

  publish(subject: string, envelope: Envelope, opts?: TransportPublishOptions): void {
    if (this.state !== 'connected') {
      throw new BusError(ErrorCodes.TRANSPORT_FAILURE, `memory transport is ${this.state}`);
    }
    const wire = asWireForm(envelope);
    // Copied (or serialised) before routing, so an envelope that cannot be encoded always fails here, as over NATS.
    let first: unknown;
    try {
      first = this.validate ? JSON.stringify(wire) : jsonClone(wire);
    } catch (err) {
      throw codecError(err, `the message to ${subject}`);
    }
    const reply = opts?.reply;
    const targets = this.broker.route(subject);
    if (targets.length === 0) {
      if (reply) this.bounceNoResponders(reply);
      return;
    }
    let text: string | undefined = typeof first === 'string' ? first : undefined;
    for (const sub of targets) {
      let body: unknown;
      if (sub.wantsText) body = text ??= JSON.stringify(wire);
      else if (first !== undefined && typeof first !== 'string') {
        body = first;
        first = undefined;
      } else body = jsonClone(wire);
      enqueueDelivery(() => sub.deliver(subject, body, reply));
    }
  }

  routeDirect(subject: string): DirectEndpoint<unknown> | null | undefined {
    // A validating transport stands in for a network one: everything travels as checked JSON text.
    if (this.validate || this.state !== 'connected') return undefined;
    return this.broker.routeDirect(subject);
  }

  deliverDirect(call: QueuedDelivery): void {
    enqueueDelivery(call);
  }

  private bounceNoResponders(reply: string): void {
    for (const sub of this.broker.route(reply)) {
      enqueueDelivery(() => sub.deliver(reply, '', undefined, 'no-responders'));
    }
  }

  subscribe(subject: string, handler: TransportMessageHandler, opts?: TransportSubscribeOptions): TransportSubscription {
    if (this.state === 'closed') throw new BusError(ErrorCodes.TRANSPORT_FAILURE, 'memory transport is closed');
    const validate = this.validate;
    let active = true;
    const sub: BrokerSubscription = {
      id: this.broker.newId(),
      subject,
      queue: opts?.queue,
      owner: this,
      wantsText: validate,
      direct: validate ? undefined : opts?.direct,
      deliver(subj, body, reply, status) {
        if (!active) return;
        if (status) {
          handler({ subject: subj, status });
          return;
        }
        let envelope: Envelope;
        try {
          envelope = typeof body === 'string' ? decodeEnvelope(body) : (body as Envelope);
        } catch (err) {
          handler({ subject: subj, reply, error: err instanceof BusError ? err : new BusError(ErrorCodes.CODEC_FAILURE, String(err)) });
          return;
        }
        // A text body (validating transports) has a size; an object handed over has none.
        handler(typeof body === 'string' ? { subject: subj, reply, envelope, size: body.length } : { subject: subj, reply, envelope });
      },
    };
    this.broker.add(sub);
    this.subs.add(sub);
    return {
      subject,
      unsubscribe: () => {
        if (!active) return;
        active = false;
        this.broker.remove(sub);
        this.subs.delete(sub);
      },
    };
  }

  newInbox(): string {
    return `${this.inboxBase}.${(this.inboxCounter++).toString(36)}`;
  }

  async flush(): Promise<void> {
    await new Promise<void>((resolve) => enqueueDelivery(resolve));
  }

  onStatus(listener: (status: TransportStatus, detail?: string) => void): () => void {
    this.statusListeners.add(listener);
    return () => this.statusListeners.delete(listener);
  }

  private setStatus(s: TransportStatus, detail?: string): void {
    this.state = s;
    for (const l of this.statusListeners) l(s, detail);
  }
}
