import type { Msg, MsgHdrs, NatsConnection } from '@nats-io/transport-node';
import { BusError } from '../../errors/bus-error.js';
import { ErrorCodes } from '../../errors/error-codes.js';
import type { BusLogger } from '../../runtime/bus-logger.js';
import type { TransportMessage } from '../transport.interface.js';
import { ChunkHeaders, chunkSizeFor, joinChunks, splitChunks, type OutgoingTransfer } from './chunking.js';
import type { NatsClient } from './nats-client.js';
import { operationError } from './nats-errors.js';
import { isPublishableSubject } from '../../protocol/subjects.js';

/** Every chunk but the last is at least this large (chunkSizeFor never goes below it). */
const MIN_CHUNK = 1024;
/** Messages reassembled at once per connection. */
const MAX_PENDING_ASSEMBLIES = 64;
/** Bytes announced by the messages being reassembled, as a multiple of maxMessageSize. */
const MAX_PENDING_FACTOR = 4;

/** What the chunk exchange needs from its transport. */
export interface ChunkHost<R> {
  readonly client: NatsClient;
  openConnection(): NatsConnection | undefined;
  readonly maxPayload: number;
  readonly maxMessageSize: number;
  readonly chunkTimeout: number;
  /** This transport's subject for pulls and chunks (`<chunkInbox>.s.<id>`, `<chunkInbox>.c.<key>`). */
  readonly chunkInbox: string;
  readonly inboxPrefix: string;
  readonly logger: BusLogger;
  deliver(rec: R, m: TransportMessage): void;
  deliverBody(rec: R, subject: string, reply: string | undefined, data: Uint8Array): void;
}

/** A chunked message being received: chunks arrive on `<chunkInbox>.c.<key>`. */
interface Assembly<R> {
  readonly rec: R;
  readonly subject: string;
  readonly reply?: string;
  readonly parts: Array<Uint8Array | undefined>;
  readonly bytes: number;
  received: number;
  receivedBytes: number;
  readonly timer: NodeJS.Timeout;
}

/**
 * Both sides of the chunk extension (chunking.ts, docs/PROTOCOL-EXTENSIONS.md "chunk"): sending a message above
 * max_payload as a stub plus chunks the receiver pulls, and reassembling the messages we receive that way.
 */
export class ChunkExchange<R> {
  private readonly transfers = new Map<string, OutgoingTransfer>();
  private readonly assemblies = new Map<string, Assembly<R>>();
  private assemblyCounter = 0;
  /** Bytes announced by the messages being reassembled. */
  private pendingBytes = 0;

  constructor(private readonly host: ChunkHost<R>) {}

  /** Publishes the stub of a message above max_payload and keeps its chunks for the receiver's pull. */
  publish(nc: NatsConnection, subject: string, bytes: Uint8Array, reply: string | undefined): void {
    const chunks = splitChunks(bytes, chunkSizeFor(this.host.maxPayload));
    const id = this.host.client.nuid.next();
    const timer = setTimeout(() => this.transfers.delete(id), this.host.chunkTimeout);
    timer.unref();
    this.transfers.set(id, { chunks, once: reply !== undefined || isInboxSubject(subject, this.host.inboxPrefix), timer });
    const h = this.host.client.headers();
    h.set(ChunkHeaders.ID, id);
    h.set(ChunkHeaders.COUNT, String(chunks.length));
    h.set(ChunkHeaders.BYTES, String(bytes.length));
    h.set(ChunkHeaders.SOURCE, `${this.host.chunkInbox}.s.${id}`);
    try {
      nc.publish(subject, this.host.client.Empty, reply ? { reply, headers: h } : { headers: h });
    } catch (err) {
      clearTimeout(timer);
      this.transfers.delete(id);
      throw err;
    }
  }

  /** A stub arrived: pull its chunks from the sender, bounded by maxMessageSize and the chunk timeout. */
  receive(rec: R, msg: Msg, h: MsgHdrs): void {
    const subject = msg.subject;
    const reply = msg.reply || undefined;
    const count = Number(h.get(ChunkHeaders.COUNT));
    const bytes = Number(h.get(ChunkHeaders.BYTES));
    const source = h.get(ChunkHeaders.SOURCE);
    const fail = (error: BusError) => this.host.deliver(rec, reply ? { subject, reply, error } : { subject, error });
    // Every chunk but the last carries at least MIN_CHUNK bytes, so a count above bytes/MIN_CHUNK is a lie (and would
    // make us hold a slot per announced chunk); the source is published to, so it must be a safe subject.
    if (
      !Number.isSafeInteger(count) ||
      count < 1 ||
      !Number.isSafeInteger(bytes) ||
      bytes < 1 ||
      count > Math.ceil(bytes / MIN_CHUNK) ||
      !isPublishableSubject(source)
    ) {
      fail(new BusError(ErrorCodes.INVALID_REQUEST, `malformed chunked message on ${subject}`));
      return;
    }
    if (bytes > this.host.maxMessageSize) {
      fail(
        new BusError(
          ErrorCodes.INVALID_REQUEST,
          `chunked message of ${bytes} bytes on ${subject} exceeds the maximum message size (maxMessageSize ${this.host.maxMessageSize} bytes)`,
          { cause: { size: bytes, limit: this.host.maxMessageSize } },
        ),
      );
      return;
    }
    // Bounded per connection: how many messages are being reassembled, and how many bytes they announce together.
    if (this.assemblies.size >= MAX_PENDING_ASSEMBLIES || this.pendingBytes + bytes > MAX_PENDING_FACTOR * this.host.maxMessageSize) {
      fail(new BusError(ErrorCodes.BACKPRESSURE_DROP, `too many chunked messages being received; the one on ${subject} was refused`));
      return;
    }
    const key = (this.assemblyCounter++).toString(36);
    const timer = setTimeout(() => {
      if (!this.forget(key)) return;
      fail(
        new BusError(
          ErrorCodes.TRANSPORT_FAILURE,
          `timed out after ${this.host.chunkTimeout} ms waiting for the chunks of a message on ${subject}`,
        ),
      );
    }, this.host.chunkTimeout);
    timer.unref();
    this.assemblies.set(key, { rec, subject, reply, parts: new Array(count), bytes, received: 0, receivedBytes: 0, timer });
    this.pendingBytes += bytes;
    try {
      this.host.openConnection()!.publish(source, this.host.client.Empty, { reply: `${this.host.chunkInbox}.c.${key}` });
    } catch (err) {
      this.forget(key);
      fail(operationError(err, `fetching the chunks of a message on ${subject}`));
    }
  }

  /** Pull requests for chunks we sent, and chunks of messages we receive (on `<chunkInbox>.>`). */
  onMessage(err: Error | null, msg: Msg): void {
    if (err) {
      this.host.logger.error(`chunk subscription ${this.host.chunkInbox}.> failed: ${err.message}; large messages cannot be exchanged`);
      return;
    }
    const rest = msg.subject.slice(this.host.chunkInbox.length + 1);
    if (rest.startsWith('s.')) this.servePull(rest.slice(2), msg);
    else if (rest.startsWith('c.')) this.acceptChunk(rest.slice(2), msg);
  }

  private servePull(id: string, msg: Msg): void {
    const reply = msg.reply;
    const nc = this.host.openConnection();
    if (!reply || !nc) return;
    const t = this.transfers.get(id);
    try {
      if (!t) {
        const h = this.host.client.headers();
        h.set(ChunkHeaders.ID, id);
        h.set(ChunkHeaders.ERROR, 'unknown or expired transfer');
        nc.publish(reply, this.host.client.Empty, { headers: h });
        return;
      }
      if (t.once) {
        clearTimeout(t.timer);
        this.transfers.delete(id);
      }
      t.chunks.forEach((chunk, i) => {
        const h = this.host.client.headers();
        h.set(ChunkHeaders.ID, id);
        h.set(ChunkHeaders.INDEX, String(i));
        nc.publish(reply, chunk, { headers: h });
      });
    } catch (e) {
      this.host.logger.warn(`could not send chunks of ${id}: ${(e as Error).message}`);
    }
  }

  private acceptChunk(key: string, msg: Msg): void {
    const a = this.assemblies.get(key);
    if (!a) return;
    const h = msg.headers;
    const failWith = (why: string) => {
      this.forget(key);
      const error = new BusError(ErrorCodes.TRANSPORT_FAILURE, `chunked message on ${a.subject} could not be fetched: ${why}`);
      this.host.deliver(a.rec, a.reply ? { subject: a.subject, reply: a.reply, error } : { subject: a.subject, error });
    };
    if (!h) return failWith('chunk without headers');
    if (h.hasError) return failWith(h.code === 503 ? 'the sender is gone' : `status ${h.code}`);
    const problem = h.get(ChunkHeaders.ERROR);
    if (problem) return failWith(problem);
    const i = Number(h.get(ChunkHeaders.INDEX));
    if (!Number.isInteger(i) || i < 0 || i >= a.parts.length) return failWith(`bad chunk index ${h.get(ChunkHeaders.INDEX)}`);
    if (a.parts[i]) return;
    // Held bytes never exceed what the stub announced (and maxMessageSize bounded that).
    a.receivedBytes += msg.data.length;
    if (a.receivedBytes > a.bytes) return failWith(`chunks exceed the announced ${a.bytes} bytes`);
    a.parts[i] = msg.data.slice();
    a.received++;
    if (a.received < a.parts.length) return;
    this.forget(key);
    const whole = joinChunks(a.parts, a.bytes);
    if (!whole) return failWith(`chunks do not add up to ${a.bytes} bytes`);
    this.host.deliverBody(a.rec, a.subject, a.reply, whole);
  }

  /** Forgets every transfer and reassembly (the connection closed). */
  drop(): void {
    for (const t of this.transfers.values()) clearTimeout(t.timer);
    this.transfers.clear();
    for (const a of this.assemblies.values()) clearTimeout(a.timer);
    this.assemblies.clear();
    this.pendingBytes = 0;
  }

  /** Ends a reassembly: its timer, its slot and its share of the pending bytes. False when it had already ended. */
  private forget(key: string): boolean {
    const a = this.assemblies.get(key);
    if (!a) return false;
    clearTimeout(a.timer);
    this.assemblies.delete(key);
    this.pendingBytes -= a.bytes;
    return true;
  }
}

/**
 * A reply subject: under this connection's inbox prefix or any `_INBOX…` one (other agents' replies go under their
 * own prefixes, `_INBOX.<agent>` by default with BusModule).
 */
function isInboxSubject(subject: string, ownPrefix: string): boolean {
  return subject.startsWith('_INBOX') || subject.startsWith(`${ownPrefix}.`);
}
