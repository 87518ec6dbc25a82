// Connection, publishing and subscribing share one nats.js connection's state; watching and ending the connection,
// client loading, connection options, chunk exchange and error mapping are in their own files. The publish and
// receive paths stay here, inline, since they run per message.
import type { Msg, NatsConnection, Subscription } from '@nats-io/transport-node';
import { consoleBusLogger, type BusLogger } from '../../runtime/bus-logger.js';
import { checkNatsServers } from './nats-server-url.js';
import { BusError } from '../../errors/bus-error.js';
import { ErrorCodes } from '../../errors/error-codes.js';
import { decodeEnvelope, encodeEnvelope } from '../../protocol/envelope-codec.js';
import { assertName, describeSubject, MAX_SUBJECT_LENGTH } from '../../protocol/subjects.js';
import { codecError } from '../../errors/codec-error.js';
import type { Envelope } from '../../protocol/envelope.js';
import { subjectMatches } from '../../protocol/subject-match.js';
import type {
  Transport,
  TransportMessage,
  TransportMessageHandler,
  TransportPublishOptions,
  TransportStatus,
  TransportSubscribeOptions,
  TransportSubscription,
} from '../transport.interface.js';
import { ChunkHeaders } from './chunking.js';
import { ChunkExchange } from './nats-chunk-exchange.js';
import { loadNatsClient, uniqueToken, type NatsClient } from './nats-client.js';
import { natsConnectionOptions } from './nats-connection-options.js';
import { endNatsConnection, watchNatsStatus } from './nats-connection-lifecycle.js';
import { ServerAvoidance } from './server-avoidance.js';
import { connectError, operationError, permissionError } from './nats-errors.js';
import { warnOpenAccount } from './open-account.js';
import { DEFAULT_CHUNK_TIMEOUT, DEFAULT_MAX_MESSAGE_SIZE, type NatsTransportOptions } from './nats-transport-options.js';

const encoder = new TextEncoder();

/** NATS servers default to 1 MiB; used until the server's INFO says otherwise. */
const DEFAULT_SERVER_MAX_PAYLOAD = 1024 * 1024;
/** How many recent publishes with a reply subject are remembered, to fail them on a permission violation. */
const RECENT = 1024;

interface SubRecord {
  readonly subject: string;
  readonly queue?: string;
  readonly handler: TransportMessageHandler;
  readonly onRefused?: (error: BusError) => void;
  active: boolean;
  sub?: Subscription;
}

/**
 * The NATS transport, on the v3 client (`@nats-io/transport-node`). The NATS body is the envelope JSON
 * (no headers, as upstream peers expect); every received body is decoded with full schema validation, and a
 * body that fails becomes `TransportMessage.error`. A publish with a reply subject that reaches nobody comes
 * back as a `no-responders` status on the reply subject. Messages above the server's max_payload are
 * chunked (see chunking.ts). Connection events map to transport status; calls in flight are failed by the
 * BusClient when the connection drops.
 *
 * @example
 * const bus = new BusClient(new NatsTransport({ servers: 'nats://127.0.0.1:4222', name: 'router' }), { agentId: 'router' });
 * await bus.connect();
 */
export class NatsTransport implements Transport {
  readonly kind = 'nats';
  private nc?: NatsConnection;
  private connecting?: Promise<void>;
  private closing?: Promise<void>;
  private state: TransportStatus = 'disconnected';
  private readonly listeners = new Set<(s: TransportStatus, d?: string) => void>();
  private readonly subs = new Set<SubRecord>();
  private readonly servers: string[];
  /** @internal */
  readonly logger: BusLogger;
  /** @internal */
  readonly maxMessageSize: number;
  /** @internal */
  readonly chunkTimeout: number;
  private serverMaxPayload = DEFAULT_SERVER_MAX_PAYLOAD;
  /** Subjects of this transport's chunk machinery: `.s.<id>` (pull requests) and `.c.<key>` (chunks in). */
  /** @internal */
  readonly inboxPrefix: string;
  /** @internal */
  readonly chunkInbox: string;
  /** Publishes marked `defer`, sent together at the end of the turn (one socket write instead of one each). */
  private deferred: Array<[string, string | Uint8Array, { reply: string } | undefined]> = [];
  private deferScheduled = false;
  private readonly chunks: ChunkExchange<SubRecord>;
  /** The client package, loaded by connect() (an optional peer). */
  private loadedClient?: NatsClient;
  private readonly recentSubject: Array<string | undefined> = new Array(RECENT);
  private readonly recentReply: Array<string | undefined> = new Array(RECENT);
  private recentAt = 0;
  private readonly avoidance = new ServerAvoidance();

  constructor(private readonly options: NatsTransportOptions = {}) {
    const s = options.servers ?? 'nats://127.0.0.1:4222';
    this.servers = Array.isArray(s) ? [...s] : [s];
    checkNatsServers(this.servers);
    this.logger = options.logger ?? consoleBusLogger;
    this.maxMessageSize = options.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE;
    this.chunkTimeout = options.chunkTimeout ?? DEFAULT_CHUNK_TIMEOUT;
    const prefix = options.inboxPrefix ?? '_INBOX';
    assertName(prefix, 'inboxPrefix');
    this.inboxPrefix = prefix;
    this.chunkInbox = this.newInbox();
    this.chunks = new ChunkExchange<SubRecord>(this);
  }

  get status(): TransportStatus {
    return this.state;
  }

  /** The underlying nats.js connection (after connect), for what the Transport interface does not cover. */
  get connection(): NatsConnection | undefined {
    return this.nc;
  }

  /** Largest message sent unchunked: the server's max_payload, or the `maxPayload` option when smaller. */
  get maxPayload(): number {
    const server = this.nc?.info?.max_payload ?? this.serverMaxPayload;
    return this.options.maxPayload !== undefined ? Math.min(this.options.maxPayload, server) : server;
  }

  connect(): Promise<void> {
    if (this.closing) return Promise.reject(new BusError(ErrorCodes.TRANSPORT_FAILURE, 'NATS transport is closed'));
    if (this.nc) return Promise.resolve();
    return (this.connecting ??= this.doConnect().finally(() => {
      this.connecting = undefined;
    }));
  }

  /** @internal The client package (after connect). */
  get client(): NatsClient {
    return this.loadedClient!;
  }

  /** @internal */
  openConnection(): NatsConnection | undefined {
    return this.nc;
  }

  private async doConnect(): Promise<void> {
    const client = (this.loadedClient ??= await loadNatsClient());
    let nc: NatsConnection;
    try {
      nc = await client.connect(natsConnectionOptions(client, this.options, this.servers, this.avoidance));
    } catch (err) {
      throw connectError(err, this.servers, this.options.tls !== undefined);
    }
    if (this.closing) {
      await nc.close().catch(() => undefined);
      throw new BusError(ErrorCodes.TRANSPORT_FAILURE, 'NATS transport was closed while connecting');
    }
    this.nc = nc;
    this.avoidance.connectedTo(nc.getServer());
    if (nc.info?.max_payload) this.serverMaxPayload = nc.info.max_payload;
    nc.subscribe(`${this.chunkInbox}.>`, { callback: (err, msg) => this.chunks.onMessage(err, msg) });
    void watchNatsStatus(nc, this.logger, {
      status: (st, detail) => this.setStatus(st, detail),
      reconnected: () => {
        this.avoidance.connectedTo(nc.getServer());
        if (nc.info?.max_payload) this.serverMaxPayload = nc.info.max_payload;
      },
      serverError: (err) => this.onServerError(err),
    });
    void nc.closed().then((err) => {
      this.chunks.drop();
      if (err) this.logger.warn(`NATS connection closed: ${(err as Error).message}`);
      this.setStatus('closed', err ? (err as Error).message : undefined);
    });
    this.setStatus('connected', `connected to ${nc.getServer()}`);
    if (this.options.warnOpenAccount !== false) warnOpenAccount(nc.info, this.logger);
  }

  private onServerError(err: Error): void {
    const pv = err as Error & { operation?: string; subject?: string; queue?: string };
    if (err?.name === 'PermissionViolationError' && pv.subject) {
      const operation = pv.operation ?? 'publish';
      const error = permissionError(operation, pv.subject, pv.queue, this.ruleFor(operation, pv.subject));
      this.logger.error(error.message);
      if (pv.operation === 'publish') this.failRecentPublishes(pv.subject, error);
      this.emit(this.state, error.message);
      return;
    }
    this.logger.warn(`NATS server error: ${err?.message ?? err}`);
    this.emit(this.state, err?.message);
  }

  private ruleFor(operation: string, subject: string): string | undefined {
    const op = operation === 'subscription' ? 'subscribe' : 'publish';
    return this.options.permissionRules?.find((r) => r.operation === op && subjectMatches(r.subject, subject))?.rule;
  }

  // A publish the server refused: requests to that subject would otherwise wait for their deadline, so each
  // recent one gets the error on its reply subject.
  private failRecentPublishes(subject: string, error: BusError): void {
    const replies = new Set<string>();
    for (let i = 0; i < RECENT; i++) {
      if (this.recentSubject[i] === subject) {
        const r = this.recentReply[i];
        if (r) replies.add(r);
        this.recentSubject[i] = undefined;
        this.recentReply[i] = undefined;
      }
    }
    for (const reply of replies) {
      for (const rec of [...this.subs]) {
        if (rec.active && subjectMatches(rec.subject, reply)) this.deliver(rec, { subject: reply, error });
      }
    }
  }

  async close(): Promise<void> {
    return (this.closing ??= this.doClose());
  }

  private async doClose(): Promise<void> {
    if (this.connecting) await this.connecting.catch(() => undefined);
    this.flushDeferred();
    for (const rec of this.subs) rec.active = false;
    this.subs.clear();
    this.chunks.drop();
    if (this.nc) await endNatsConnection(this.nc, this.state === 'connected');
    this.setStatus('closed');
  }

  publish(subject: string, envelope: Envelope, opts?: TransportPublishOptions): void {
    const nc = this.nc;
    if (!nc || this.closing || this.state === 'closed') {
      throw new BusError(ErrorCodes.TRANSPORT_FAILURE, `NATS transport is ${this.closing ? 'closed' : this.state}`);
    }
    const reply = opts?.reply;
    // Last line of defence (subjects from received data are checked where they are read): a protocol line over the
    // server's max_control_line would cost this connection and every call on it.
    if (subject.length > MAX_SUBJECT_LENGTH || (reply !== undefined && reply.length > MAX_SUBJECT_LENGTH)) {
      throw new BusError(
        ErrorCodes.INVALID_REQUEST,
        `refusing to publish to ${describeSubject(subject.length > MAX_SUBJECT_LENGTH ? subject : reply)}: longer than ${MAX_SUBJECT_LENGTH} characters`,
      );
    }
    let body: string;
    try {
      body = opts?.encode ? opts.encode(envelope) : encodeEnvelope(envelope);
    } catch (err) {
      throw codecError(err, `the message to ${subject}`);
    }
    const limit = this.maxPayload;
    try {
      // A UTF-16 unit is at most 3 UTF-8 bytes: most messages skip the byte count.
      if (body.length * 3 <= limit && body.length * 3 <= this.maxMessageSize) {
        // Buffer.from encodes UTF-8 about 4x faster than the TextEncoder nats-core would use on a string.
        this.send(nc, subject, Buffer.from(body), reply ? { reply } : undefined, opts?.defer === true);
      } else {
        const bytes = encoder.encode(body);
        if (bytes.length > this.maxMessageSize) {
          throw new BusError(
            ErrorCodes.INVALID_REQUEST,
            `message of ${bytes.length} bytes to ${subject} exceeds the maximum message size (maxMessageSize ${this.maxMessageSize} bytes)`,
            { cause: { size: bytes.length, limit: this.maxMessageSize } },
          );
        }
        if (bytes.length <= limit) this.send(nc, subject, bytes, reply ? { reply } : undefined, opts?.defer === true);
        else if (opts?.chunk === false) {
          throw new BusError(
            ErrorCodes.INVALID_REQUEST,
            `message of ${bytes.length} bytes to ${subject} exceeds the NATS max_payload (${limit} bytes) and the receiver does not support chunking`,
            { cause: { size: bytes.length, limit } },
          );
        } else {
          this.flushDeferred();
          this.chunks.publish(nc, subject, bytes, reply);
        }
      }
    } catch (err) {
      throw operationError(err, `publish to ${subject}`);
    }
    if (reply) {
      const i = this.recentAt;
      this.recentSubject[i] = subject;
      this.recentReply[i] = reply;
      this.recentAt = (i + 1) % RECENT;
    }
  }

  private send(nc: NatsConnection, subject: string, body: string | Uint8Array, pub: { reply: string } | undefined, defer: boolean): void {
    if (defer) {
      this.deferred.push([subject, body, pub]);
      if (!this.deferScheduled) {
        this.deferScheduled = true;
        setImmediate(() => this.flushDeferred());
      }
      return;
    }
    if (this.deferred.length > 0) this.flushDeferred();
    nc.publish(subject, body, pub);
  }

  private flushDeferred(): void {
    this.deferScheduled = false;
    if (this.deferred.length === 0) return;
    const list = this.deferred;
    this.deferred = [];
    const nc = this.nc;
    if (!nc || nc.isClosed()) return;
    for (const [subject, body, pub] of list) {
      try {
        nc.publish(subject, body, pub);
      } catch (err) {
        this.logger.warn(`deferred publish to ${subject} failed: ${(err as Error).message}`);
      }
    }
  }

  subscribe(subject: string, handler: TransportMessageHandler, opts?: TransportSubscribeOptions): TransportSubscription {
    const nc = this.nc;
    if (!nc || this.closing || this.state === 'closed') {
      throw new BusError(ErrorCodes.TRANSPORT_FAILURE, `NATS transport is ${this.closing ? 'closed' : 'not connected'}`);
    }
    const rec: SubRecord = { subject, queue: opts?.queue, handler, onRefused: opts?.onRefused, active: true };
    try {
      rec.sub = nc.subscribe(subject, {
        queue: opts?.queue,
        callback: (err, msg) => this.onMessage(rec, err, msg),
      });
    } catch (err) {
      throw operationError(err, `subscribe to ${subject}`);
    }
    this.subs.add(rec);
    return {
      subject,
      unsubscribe: () => {
        if (!rec.active) return;
        rec.active = false;
        this.subs.delete(rec);
        try {
          rec.sub?.unsubscribe();
        } catch {
          // closed or draining: the subscription is gone anyway
        }
      },
    };
  }

  newInbox(): string {
    return `${this.inboxPrefix}.${uniqueToken()}`;
  }

  async flush(): Promise<void> {
    const nc = this.nc;
    if (!nc || nc.isClosed()) return;
    try {
      await nc.flush();
    } catch (err) {
      if (nc.isClosed()) return;
      throw operationError(err, 'flush');
    }
  }

  onStatus(listener: (status: TransportStatus, detail?: string) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  // ------------------------------------------------------------------ receiving

  private onMessage(rec: SubRecord, err: Error | null, msg: Msg): void {
    if (err) {
      // nats.js ends a subscription the server refused (permission violation) through its callback.
      const pv = err as Error & { operation?: string; queue?: string };
      const error =
        err.name === 'PermissionViolationError'
          ? permissionError('subscription', rec.subject, pv.queue ?? rec.queue, this.ruleFor('subscription', rec.subject))
          : operationError(err, `subscription ${rec.subject}`);
      if (rec.active) {
        rec.active = false;
        this.subs.delete(rec);
        if (err.name !== 'PermissionViolationError') this.logger.error(error.message);
        else rec.onRefused?.(error);
      }
      return;
    }
    if (!rec.active) return;
    const h = msg.headers;
    if (h) {
      if (h.hasError) {
        if (h.code === 503) this.deliver(rec, { subject: msg.subject, status: 'no-responders' });
        else this.logger.debug?.(`NATS status ${h.code} ${h.description} on ${msg.subject} ignored`);
        return;
      }
      if (h.has(ChunkHeaders.ID)) {
        this.chunks.receive(rec, msg, h);
        return;
      }
    }
    this.deliverBody(rec, msg.subject, msg.reply || undefined, msg.data);
  }

  /** @internal */
  deliverBody(rec: SubRecord, subject: string, reply: string | undefined, data: Uint8Array): void {
    let envelope: Envelope;
    try {
      envelope = decodeEnvelope(data);
    } catch (err) {
      const error = err instanceof BusError ? err : new BusError(ErrorCodes.CODEC_FAILURE, String(err));
      this.deliver(rec, reply ? { subject, reply, error } : { subject, error });
      return;
    }
    this.deliver(rec, reply ? { subject, reply, envelope, size: data.length } : { subject, envelope, size: data.length });
  }

  /** @internal */
  deliver(rec: SubRecord, m: TransportMessage): void {
    if (!rec.active) return;
    try {
      rec.handler(m);
    } catch (err) {
      // Like the memory transport: a subscriber's exception must not stop delivery, but must not vanish either.
      process.nextTick(() => {
        throw err;
      });
    }
  }

  // ------------------------------------------------------------------ status

  private setStatus(s: TransportStatus, detail?: string): void {
    if (this.state === s) return;
    if (this.state === 'closed') return;
    this.state = s;
    this.emit(s, detail);
  }

  private emit(s: TransportStatus, detail?: string): void {
    for (const l of [...this.listeners]) {
      try {
        l(s, detail);
      } catch (err) {
        this.logger.error(`transport status listener failed: ${(err as Error).message}`);
      }
    }
  }
}
