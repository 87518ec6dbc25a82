// The bridge's life cycle, its sync loop (cursor, back-fill, outage handling) and the routing of each timeline
// event are one state machine; answering in rooms is MatrixResponder, and message classification, rendering,
// outbound reading, sending and the cursor stores live in their own files.
import { createHash } from 'node:crypto';
import { abortableSleep } from '@openagentio/nestjs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import type { BusClient, BusSubscription, Envelope } from '@openagentio/nestjs';
import {
  PermanentBridgeError,
  type Bridge,
  type BridgeContext,
  type BridgeDefinition,
  type BridgeFactory,
} from '../interfaces/bridge.interface.js';
import type { SupervisionOptions } from '../supervision/bridge-supervisor.js';
import type { MatrixAnswerStats } from './matrix-answer.js';
import { MATRIX_EVENT_BRIDGE_TYPE, parseMatrixConfig, type MatrixBridgeConfig } from './matrix-config.js';
import { FileCursorStore, MemoryCursorStore, NatsKvCursorStore, type MatrixCursorStore } from './matrix-cursor-store.js';
import { bridgeMarker, classifyEvent, durablePublisher, SeenEvents, traceparentOf, type MatrixRoomEvent } from './matrix-events.js';
import { MatrixHttp, MatrixRequestError, seg } from './matrix-http.js';
import { readOutbound } from './matrix-outbound.js';
import { MatrixResponder } from './matrix-responder.js';
import { allowedInviter, createSyncFilter, inviterOf, syncFilterDefinition, TIMELINE_TYPES, type SyncResponse } from './matrix-sync-api.js';
import { MatrixRoomSender } from './matrix-room-sender.js';

/** Counters the bridge reports in its health details. */
export interface MatrixBridgeStats {
  published: number;
  duplicatesDropped: number;
  ignored: number;
  edits: number;
  redactions: number;
  backfilled: number;
  outboundSent: number;
  outboundFailed: number;
  joins: number;
  /** Triggering messages not answered: sent before the bridge started, by a bridge past `bridge_turns`, over a limit. */
  notAnsweredOld: number;
  notAnsweredBridge: number;
  overLimit: number;
}

/** Events one back-fill reads at most (in pages of up to 100). */
const MAX_BACKFILL_EVENTS = 1_000;
const MAX_RECONNECT_DELAY_MS = 60_000;

/**
 * Matrix rooms on the bus, compatible with upstream's `matrix_event` bridge (same configuration, same events and
 * payloads) and better where upstream loses or doubles messages: the sync cursor is stored and committed only
 * after its batch is published, events are de-duplicated by id and a `limited` timeline is back-filled; edits,
 * notices, redactions and the bot's own messages are never published as new messages; sends are idempotent
 * (transaction ids derived from the envelope) and wait out 429s per room; agents can answer in rooms with
 * streamed answers edited in place at a bounded rate (docs/matrix.md).
 */
export class MatrixEventBridge implements Bridge {
  readonly type = MATRIX_EVENT_BRIDGE_TYPE;
  readonly config: MatrixBridgeConfig;
  readonly stats: MatrixBridgeStats = {
    published: 0,
    duplicatesDropped: 0,
    ignored: 0,
    edits: 0,
    redactions: 0,
    backfilled: 0,
    outboundSent: 0,
    outboundFailed: 0,
    joins: 0,
    notAnsweredOld: 0,
    notAnsweredBridge: 0,
    overLimit: 0,
  };
  readonly answerStats: MatrixAnswerStats = { answers: 0, messages: 0, edits: 0 };
  private http!: MatrixHttp;
  private sender?: MatrixRoomSender;
  private store?: MatrixCursorStore;
  private ctx?: BridgeContext;
  private cursor?: string;
  private cursorSavedAt?: number;
  private lastSyncAt?: number;
  private filterId?: string;
  private readonly rooms = new Set<string>();
  private readonly seen = new SeenEvents();
  private outbound?: BusSubscription;
  private loop?: Promise<void>;
  private stopSync = new AbortController();
  private running = false;
  private degraded = false;
  /**
   * Events per room the next sync asks for: `sync_timeline_limit`, halved after an answer larger than
   * `max_sync_bytes` (a legitimate batch of large events) until one fits, then back again. What the smaller
   * timeline leaves out comes as a `limited` timeline and is back-filled in pages of the same size.
   */
  private timelineLimit = 0;
  /** The token was checked and the rooms joined (at start, or by the sync loop once the homeserver answered). */
  private setUp = false;
  private readonly responder: MatrixResponder;

  constructor(
    readonly name: string,
    definition: BridgeDefinition,
  ) {
    this.config = parseMatrixConfig(definition);
    this.responder = new MatrixResponder({
      name,
      config: this.config,
      stats: this.stats,
      answerStats: this.answerStats,
      context: () => this.ctx,
      http: () => this.http,
      sender: () => this.sender,
    });
  }

  /** Upstream's supervision block, when the document has one. */
  get supervision(): SupervisionOptions | undefined {
    return this.config.supervision;
  }

  async start(ctx: BridgeContext): Promise<void> {
    const cfg = this.config;
    this.ctx = ctx;
    this.responder.start();
    this.http = new MatrixHttp({ homeserverUrl: cfg.homeserverUrl, accessToken: cfg.accessToken, requestTimeoutMs: 30_000 });
    this.store = this.cursorStore(ctx.bus);
    this.cursor = await this.store.load();
    for (const room of cfg.roomIds) this.rooms.add(room);
    this.setUp = false;
    try {
      await this.setUpSession();
    } catch (err) {
      // A homeserver that is away (or a proxy answering nonsense) at start is the same outage as later: the bridge
      // starts degraded and its sync loop finishes the set-up when the homeserver answers. A refused token is not.
      if (!(err instanceof MatrixRequestError) || err.isAuthFailure) throw this.startError(err, 'starting');
      ctx.logger.warn(`bridge "${this.name}": the homeserver is not answering yet (${err.message}); starting degraded`);
    }
    this.sender = new MatrixRoomSender(this.http);
    this.outbound = ctx.bus.subscribe(cfg.outboundMessageEvent, (_p, env) => this.sendOutbound(env), { deadLetter: true });
    await this.outbound.ready;
    this.running = true;
    this.degraded = false;
    this.stopSync = new AbortController();
    this.loop = this.syncLoop(ctx);
  }

  /** Checks the token, joins the configured rooms and makes the sync filter; idempotent. */
  private async setUpSession(): Promise<void> {
    const cfg = this.config;
    const whoami = await this.http.request<{ user_id?: string }>('GET', 'account/whoami');
    if (whoami.user_id !== cfg.userId) {
      throw new PermanentBridgeError(
        `bridge "${this.name}": the access token belongs to ${whoami.user_id}, not config.user_id ${cfg.userId}`,
      );
    }
    // Joining is idempotent; a room the bot is not invited to is reported and left out, not fatal (an outage is).
    for (const room of cfg.roomIds) {
      await this.http.request('POST', `join/${seg(room)}`, {}).catch((err) => {
        if (err instanceof MatrixRequestError && (err.isAuthFailure || err.isTransient)) throw err;
        this.ctx?.logger.warn(`bridge "${this.name}": cannot join ${room}: ${(err as Error).message}`);
      });
    }
    if (cfg.syncFilter) this.filterId = await createSyncFilter(this.http, this.config);
    this.setUp = true;
  }

  async stop(): Promise<void> {
    this.running = false;
    this.stopSync.abort(new Error('bridge stopping'));
    this.responder.stop();
    this.outbound?.unsubscribe();
    this.outbound = undefined;
    this.sender?.stop();
    await this.loop?.catch(() => undefined);
    this.loop = undefined;
    await this.store?.close?.();
  }

  describe(): Record<string, unknown> {
    const now = Date.now();
    return {
      homeserver: this.config.homeserverUrl,
      user_id: this.config.userId,
      rooms: [...this.rooms].sort(),
      cursor_store: this.store?.kind ?? this.config.cursorStore,
      cursor_age_ms: this.cursorSavedAt ? now - this.cursorSavedAt : null,
      last_sync_ms_ago: this.lastSyncAt ? now - this.lastSyncAt : null,
      answering: this.responder.answering.size,
      ...this.stats,
      sends: this.sender?.stats,
      answers: this.answerStats,
    };
  }

  private cursorStore(bus: BusClient): MatrixCursorStore {
    const cfg = this.config;
    const key = createHash('sha256').update(`${cfg.homeserverUrl}|${cfg.userId}|${this.name}`).digest('hex').slice(0, 32);
    if (cfg.cursorStore === 'file') return new FileCursorStore(cfg.cursorPath ?? join(tmpdir(), `openagentio-matrix-${key}.json`));
    if (cfg.cursorStore === 'nats_kv') return new NatsKvCursorStore(bus, cfg.cursorBucket, key);
    return new MemoryCursorStore(key);
  }

  /** The sync loop: one long-poll at a time; its cursor is saved only once everything in the batch is published. */
  private async syncLoop(ctx: BridgeContext): Promise<void> {
    const cfg = this.config;
    let delay = cfg.reconnectDelayMs;
    this.timelineLimit = cfg.syncTimelineLimit;
    while (this.running) {
      const initial = this.cursor === undefined;
      try {
        if (!this.setUp) await this.setUpSession();
        else if (cfg.syncFilter && !this.filterId) this.filterId = await createSyncFilter(this.http, this.config);
        const data = await this.http.request<SyncResponse>('GET', 'sync', undefined, {
          query: {
            since: this.cursor,
            timeout: initial ? 0 : cfg.syncTimeoutMs,
            // Without a stored filter, or with a smaller timeline, the filter goes inline: never an unbounded batch.
            filter:
              this.filterId && this.timelineLimit === cfg.syncTimelineLimit
                ? this.filterId
                : JSON.stringify(syncFilterDefinition(cfg, this.timelineLimit)),
            set_presence: 'offline',
          },
          timeoutMs: cfg.syncTimeoutMs + 15_000,
          signal: this.stopSync.signal,
          maxBytes: cfg.maxSyncBytes,
        });
        if (!this.running) return;
        if (typeof data.next_batch !== 'string' || !data.next_batch)
          throw new MatrixRequestError('GET sync: the answer is not a sync (no next_batch)', 200, undefined, undefined, 'not_sync');
        this.lastSyncAt = Date.now();
        if (this.degraded) {
          this.degraded = false;
          ctx.reportHealth?.('healthy');
        }
        delay = cfg.reconnectDelayMs;
        if (!initial || cfg.initialSyncBehavior === 'replay') await this.processBatch(data, this.cursor);
        else this.noteInvites(data); // skip: the history before the bridge started is not published
        await this.store!.save(data.next_batch);
        this.cursor = data.next_batch;
        this.cursorSavedAt = Date.now();
        this.timelineLimit = cfg.syncTimelineLimit;
      } catch (err) {
        if (!this.running) return;
        if (err instanceof MatrixRequestError && err.invalidAnswer === 'too_large' && this.timelineLimit > 1) {
          // Progress, not an outage: ask for fewer events at once and go on at once.
          this.timelineLimit = Math.max(1, Math.floor(this.timelineLimit / 2));
          ctx.logger.warn(`bridge "${this.name}": ${err.message}; asking for ${this.timelineLimit} events per room`);
          continue;
        }
        if (err instanceof MatrixRequestError && err.isAuthFailure) {
          ctx.reportFailure(new PermanentBridgeError(`bridge "${this.name}": the homeserver refused the access token: ${err.message}`));
          return;
        }
        if (err instanceof PermanentBridgeError) {
          ctx.reportFailure(err);
          return;
        }
        // Anything else is transient, whatever the answer was (HTML, cut JSON, 4xx/5xx from a proxy, a timeout):
        // the homeserver may answer properly next time, and staying down would lose what is posted meanwhile. A
        // refused request may mean the stored filter is gone: it is made again before the next sync.
        if (err instanceof MatrixRequestError && !err.isTransient) this.filterId = undefined;
        // The homeserver (or the bus) is away: keep the cursor, say so, and try again; nothing is lost.
        if (!this.degraded) {
          this.degraded = true;
          ctx.reportHealth?.('degraded', err as Error);
        }
        ctx.logger.warn(`bridge "${this.name}": sync failed (${(err as Error).message}); retrying in ${delay} ms`);
        // Stopping ends the wait early; the loop then sees it is no longer running.
        await abortableSleep(delay, this.stopSync.signal).catch(() => undefined);
        delay = Math.min(MAX_RECONNECT_DELAY_MS, delay * 2);
      }
    }
  }

  /** Publishes a batch; `since` is the cursor it follows (none for a replayed first sync: nothing to back-fill to). */
  private async processBatch(data: SyncResponse, since: string | undefined): Promise<void> {
    await this.joinInvited(data);
    for (const [roomId, room] of Object.entries(data.rooms?.join ?? {})) {
      if (!this.rooms.has(roomId)) continue;
      const timeline = room.timeline ?? {};
      let events = timeline.events ?? [];
      if (since && timeline.limited && timeline.prev_batch)
        events = [...(await this.backfill(roomId, timeline.prev_batch, since)), ...events];
      for (const ev of events) await this.onEvent(roomId, ev);
    }
  }

  /**
   * A `limited` timeline left events out between the last batch and this one: page back from `prev_batch` to the
   * cursor the batch followed (`to`: nothing before it, which was published already, possibly by an earlier run),
   * stopping early at an event already seen, and return the missing ones oldest first.
   */
  private async backfill(roomId: string, from: string, to: string): Promise<MatrixRoomEvent[]> {
    const missing: MatrixRoomEvent[] = [];
    let token: string | undefined = from;
    const limit = Math.min(100, this.timelineLimit);
    for (let page = 0; page < Math.ceil(MAX_BACKFILL_EVENTS / limit) && token; page++) {
      const res: { chunk?: MatrixRoomEvent[]; end?: string } = await this.http.request('GET', `rooms/${seg(roomId)}/messages`, undefined, {
        query: { from: token, to, dir: 'b', limit, filter: JSON.stringify({ types: TIMELINE_TYPES }) },
        signal: this.stopSync.signal,
        maxBytes: this.config.maxSyncBytes,
      });
      const chunk = res.chunk ?? [];
      let reachedSeen = false;
      for (const ev of chunk) {
        if (this.seen.has(ev.event_id)) {
          reachedSeen = true;
          break;
        }
        missing.push(ev);
      }
      if (reachedSeen || chunk.length === 0 || res.end === token) break;
      token = res.end;
    }
    this.stats.backfilled += missing.length;
    return missing.reverse();
  }

  private noteInvites(data: SyncResponse): void {
    if (this.config.autojoin && data.rooms?.invite && Object.keys(data.rooms.invite).length > 0) void this.joinInvited(data);
  }

  /** Invitations: joined when autojoin is on and the inviter (or its server) is allowed. */
  private async joinInvited(data: SyncResponse): Promise<void> {
    const cfg = this.config;
    if (!cfg.autojoin) return;
    for (const [roomId, invite] of Object.entries(data.rooms?.invite ?? {})) {
      const inviter = inviterOf(cfg.userId, invite);
      if (!inviter || !allowedInviter(inviter, cfg.autojoinAllow)) {
        this.ctx?.logger.warn(`bridge "${this.name}": not joining ${roomId}: inviter ${inviter ?? 'unknown'} is not in autojoin_allow`);
        continue;
      }
      try {
        await this.http.request('POST', `join/${seg(roomId)}`, {});
        this.rooms.add(roomId);
        this.stats.joins++;
      } catch (err) {
        this.ctx?.logger.warn(`bridge "${this.name}": joining ${roomId} failed: ${(err as Error).message}`);
      }
    }
  }

  private async onEvent(roomId: string, ev: MatrixRoomEvent): Promise<void> {
    if (!ev || typeof ev.event_id !== 'string') return;
    if (this.seen.has(ev.event_id)) {
      this.stats.duplicatesDropped++;
      return;
    }
    await this.route(roomId, ev);
    // Seen only once handled: an event whose publish failed is published when the batch is read again.
    this.seen.add(ev.event_id);
  }

  private async route(roomId: string, ev: MatrixRoomEvent): Promise<void> {
    const c = classifyEvent(ev, this.config.userId);
    const cfg = this.config;
    const bus = durablePublisher(this.ctx!.bus, cfg, roomId, ev.event_id);
    const session = cfg.sessionStrategy === 'room' ? roomId : `${roomId}:${ev.sender}`;
    switch (c.kind) {
      case 'message': {
        const traceparent = traceparentOf(ev);
        const metadata: Record<string, unknown> = {
          'matrix.room_id': roomId,
          'matrix.sender': ev.sender,
          'matrix.event_id': ev.event_id,
          'matrix.origin_server_ts': ev.origin_server_ts ?? null,
          'matrix.msgtype': c.msgtype,
        };
        if (c.html !== undefined) metadata['matrix.html'] = c.html;
        if (traceparent) metadata['matrix.traceparent'] = traceparent;
        if (c.threadId) metadata['matrix.thread_id'] = c.threadId;
        if (c.replyTo) metadata['matrix.in_reply_to'] = c.replyTo;
        if (c.bridgeTurn !== undefined) metadata['matrix.bridge_turn'] = c.bridgeTurn;
        const payload = {
          text: c.text,
          html: c.html ?? null,
          room_id: roomId,
          sender: ev.sender,
          event_id: ev.event_id,
          origin_server_ts: ev.origin_server_ts ?? null,
          msgtype: c.msgtype,
        };
        await bus.publish(cfg.inboundMessageEvent, payload, {
          session_id: session,
          conversation_id: roomId,
          correlation_id: ev.event_id,
          traceparent,
          metadata,
        });
        this.stats.published++;
        this.responder.consider({
          roomId,
          ev,
          text: c.text,
          mentionsBot: c.mentionsBot,
          bridgeTurn: c.bridgeTurn,
          threadId: c.threadId,
          session,
          payload,
        });
        return;
      }
      case 'edit':
        this.stats.edits++;
        if (cfg.publishEdits) {
          await bus.publish(
            cfg.editedEvent,
            {
              room_id: roomId,
              sender: ev.sender,
              event_id: ev.event_id,
              replaces_event_id: c.replaces,
              text: c.text,
              html: c.html ?? null,
            },
            { session_id: session, conversation_id: roomId, correlation_id: c.replaces, metadata: { 'matrix.room_id': roomId } },
          );
        }
        return;
      case 'redaction':
        this.stats.redactions++;
        this.responder.answering.get(c.redacts)?.abort(new Error('the question was redacted'));
        if (cfg.publishRedactions) {
          await bus.publish(
            cfg.redactedEvent,
            { room_id: roomId, sender: ev.sender, event_id: ev.event_id, redacts: c.redacts },
            { session_id: session, conversation_id: roomId, correlation_id: c.redacts, metadata: { 'matrix.room_id': roomId } },
          );
        }
        return;
      case 'reaction':
        if (cfg.respond?.cancelReaction && c.key === cfg.respond.cancelReaction)
          this.responder.answering.get(c.relatesTo)?.abort(new Error('cancelled by reaction'));
        return;
      default:
        this.stats.ignored++;
    }
  }

  /** `matrix.message.send`: to the room, once (the transaction id is the envelope's event id). */
  private async sendOutbound(env: Envelope): Promise<void> {
    try {
      const { roomId, content } = await readOutbound(env, this.config);
      // An answer to a message from a bridge is the next turn of that bots' conversation.
      const turn = env.metadata?.['matrix.bridge_turn'];
      const marked = { ...content, ...bridgeMarker(this.name, (typeof turn === 'number' ? turn : 0) + 1) };
      await this.sender!.send(roomId, 'm.room.message', marked, `oaio.${env.event_id}`);
      this.stats.outboundSent++;
    } catch (err) {
      this.stats.outboundFailed++;
      throw err;
    }
  }

  private startError(err: unknown, what: string): Error {
    if (err instanceof MatrixRequestError && err.isAuthFailure) {
      return new PermanentBridgeError(`bridge "${this.name}": the homeserver refused the access token while ${what}: ${err.message}`);
    }
    return err instanceof Error ? err : new Error(String(err));
  }
}

export const matrixEventBridgeFactory: BridgeFactory = (definition: BridgeDefinition) => new MatrixEventBridge(definition.name, definition);
