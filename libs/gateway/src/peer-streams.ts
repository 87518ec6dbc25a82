import { createHash, randomUUID } from 'node:crypto';
import {
  type BusClient,
  BusError,
  type BusSubscription,
  type Envelope,
  ErrorCodes,
  type HandlerContext,
  type StreamCall,
  type StreamWriter,
} from '@openagentio/nestjs';
import { isTerminalEventType } from '@openagentio/nestjs/internal/protocol/envelope.js';
import { REPLICA_ID } from './gateway.options.js';
import type { StreamRegistry } from './stream-registry.js';

/** What a replica asks the replica that runs a stream. `owner` is the identity key the stream was started under. */
interface PeerRequest {
  id: string;
  owner: string;
  last_event_id?: string;
}

/** The attach call's result: `gone` when the stream has ended and nothing is left after `last_event_id`. */
export interface PeerAttachResult {
  gone: boolean;
}

/** A broadcast asking which replica has a frame (a GET-started stream resumed by Last-Event-ID alone). */
interface FindQuery {
  query_id: string;
  event_id: string;
  target: string;
  /** A digest of the owner key: a broadcast event may reach feeds that a plain key should not. */
  owner_digest: string;
  /** The replica asking: the one that has the frame answers with an invoke of its `found` target. */
  asker: string;
}

const FIND_EVENT = 'gateway.peer.find';
/** How long a replica waits for another to say it has a frame before answering 404. */
const FIND_TIMEOUT_MS = 1000;
const SEPARATOR = '~';
/** How long a client may stay attached through another replica (the bus call's deadline). */
const ATTACH_TIMEOUT_MS = 24 * 60 * 60 * 1000;

/**
 * Detached gateway streams across replicas. A stream runs on the replica that started it; its id names that
 * replica (`<replicaId>~<uuid>`). Every replica serves two bus targets for its own streams:
 * `gateway.peer.<replicaId>.attach` (a stream of the gateway stream's frames, each as a delta's `data`, after a
 * Last-Event-ID) and `gateway.peer.<replicaId>.cancel`. Another replica that receives GET or DELETE
 * /v1/streams/{id} calls them. An EventSource that reconnects to another replica with only a Last-Event-ID (a
 * GET-started stream) is found by a broadcast (`gateway.peer.find`) that the replica holding the frame answers
 * on the asker's `gateway.peer.<replicaId>.found`. The owner key travels with the request and is checked where
 * the stream runs, as for a local request; replicas trust each other as bus participants.
 */
export class PeerStreams {
  private subs: BusSubscription[] = [];
  private readonly finding = new Map<string, (id: string) => void>();

  constructor(
    private readonly bus: BusClient,
    readonly replicaId: string,
    private readonly streams: StreamRegistry,
  ) {}

  /** A new stream id on this replica. */
  newId(uuid: string): string {
    return `${this.replicaId}${SEPARATOR}${uuid}`;
  }

  /** The replica a stream id names, when it is another one. */
  remoteReplica(id: string): string | undefined {
    const at = id.indexOf(SEPARATOR);
    if (at <= 0) return undefined;
    const replica = id.slice(0, at);
    return replica !== this.replicaId && REPLICA_ID.test(replica) ? replica : undefined;
  }

  /** Serves this replica's streams to the others. Call once the bus is connected. */
  start(): void {
    if (this.subs.length > 0) return;
    // Replica-to-replica plumbing: discovery marks it internal, so user-facing lists leave it out.
    // Every replica's targets under one pattern, so one NATS permission set serves them all (docs/security.md).
    const internal = (op: 'attach' | 'cancel' | 'found') => ({ internal: true, permissionPattern: target('*', op) });
    this.subs.push(
      this.bus.handleStream(target(this.replicaId, 'attach'), (p: PeerRequest, ctx) => this.serveAttach(p, ctx), internal('attach')),
      this.bus.handleInvoke(target(this.replicaId, 'cancel'), (p: PeerRequest) => this.serveCancel(p), internal('cancel')),
      this.bus.handleInvoke(
        target(this.replicaId, 'found'),
        (p: { query_id: string; id: string }) => {
          this.finding.get(p?.query_id)?.(p.id);
          return true;
        },
        internal('found'),
      ),
      this.bus.subscribe<FindQuery>(FIND_EVENT, (q) => this.answerFind(q)),
    );
  }

  stop(): void {
    for (const s of this.subs) s.unsubscribe();
    this.subs = [];
  }

  /** Attaches to a stream another replica runs: its frames arrive as the `data` of the call's deltas. */
  attach(replica: string, request: PeerRequest): StreamCall {
    return this.bus.stream(target(replica, 'attach'), request, { timeout: ATTACH_TIMEOUT_MS });
  }

  /**
   * The id of the stream (on another replica) one of whose frames is `eventId`, started by `owner` on `target`;
   * undefined when no replica says so within FIND_TIMEOUT_MS. For an EventSource that reconnects to another
   * replica with only its Last-Event-ID.
   */
  async find(eventId: string, streamTarget: string, owner: string): Promise<string | undefined> {
    const queryId = randomUUID();
    let timer: NodeJS.Timeout | undefined;
    const found = new Promise<string | undefined>((resolve) => {
      this.finding.set(queryId, resolve);
      timer = setTimeout(() => resolve(undefined), FIND_TIMEOUT_MS);
    });
    try {
      const query: FindQuery = {
        query_id: queryId,
        event_id: eventId,
        target: streamTarget,
        owner_digest: digest(owner),
        asker: this.replicaId,
      };
      await this.bus.publish(FIND_EVENT, query);
      return await found;
    } finally {
      clearTimeout(timer);
      this.finding.delete(queryId);
    }
  }

  private answerFind(q: FindQuery): void {
    if (!q || q.asker === this.replicaId || typeof q.event_id !== 'string') return;
    const s = this.streams.findByEventId(q.event_id);
    if (!s || s.target !== q.target || digest(s.ownerKey) !== q.owner_digest) return;
    this.bus.invoke(target(q.asker, 'found'), { query_id: q.query_id, id: s.id }).catch(() => undefined);
  }

  /** Cancels a stream another replica runs; NO_HANDLER when it has no such stream (or is gone). */
  async cancel(replica: string, request: PeerRequest): Promise<void> {
    await this.bus.invoke(target(replica, 'cancel'), request);
  }

  private async serveAttach(p: PeerRequest, ctx: HandlerContext & { writer: StreamWriter }): Promise<PeerAttachResult> {
    const s = this.local(p);
    if (s.ended && s.buffer.after(p.last_event_id).length === 0) return { gone: true };
    // Frames are written as they come (the writer keeps their order while it waits for credit); the result goes
    // after the last of them, so the terminal frame of the gateway stream is forwarded before the call ends.
    let last: Promise<void> = Promise.resolve();
    await new Promise<void>((resolve) => {
      // Declared before it is assigned: `end` may run while s.attach() is still replaying frames.
      // eslint-disable-next-line prefer-const
      let detach: (() => void) | undefined;
      let done = false;
      const end = () => {
        if (done) return;
        done = true;
        ctx.signal.removeEventListener('abort', end);
        detach?.();
        resolve();
      };
      ctx.signal.addEventListener('abort', end, { once: true });
      detach = s.attach((frame: Envelope) => {
        last = ctx.writer.data(frame).catch(() => undefined);
        if (isTerminalEventType(frame.event_type)) end();
      }, p.last_event_id);
      if (s.ended) end();
    });
    await last;
    return { gone: false };
  }

  private serveCancel(p: PeerRequest): boolean {
    this.local(p).cancel('cancelled by the client');
    return true;
  }

  private local(p: PeerRequest) {
    const s = p && typeof p.id === 'string' ? this.streams.get(p.id) : undefined;
    if (!s || s.ownerKey !== p.owner) throw new BusError(ErrorCodes.NO_HANDLER, `no stream "${p?.id}"`);
    return s;
  }
}

function target(replica: string, op: 'attach' | 'cancel' | 'found'): string {
  return `gateway.peer.${replica}.${op}`;
}

function digest(ownerKey: string): string {
  return createHash('sha256').update(ownerKey).digest('base64url');
}
