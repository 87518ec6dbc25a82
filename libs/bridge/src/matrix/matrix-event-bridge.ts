/* eslint-disable max-lines -- being split along its roles (issue #25 item 4); until then the sync loop and the routing of events are one state machine */
// Over 350 lines: the bridge's life cycle, its sync loop (cursor, back-fill, outage handling) and the routing of
// each timeline event are one state machine; message classification, rendering, outbound reading, sending and the
// cursor stores live in their own files.
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
import { MatrixAnswer, type MatrixAnswerStats } from './matrix-answer.js';
import { MATRIX_EVENT_BRIDGE_TYPE, parseMatrixConfig, type MatrixBridgeConfig } from './matrix-config.js';
import { FileCursorStore, MemoryCursorStore, NatsKvCursorStore, type MatrixCursorStore } from './matrix-cursor-store.js';
import { bridgeMarker, classifyEvent, SeenEvents, traceparentOf, type MatrixRoomEvent } from './matrix-events.js';
import { MatrixHttp, MatrixRequestError, seg } from './matrix-http.js';
import { readOutbound } from './matrix-outbound.js';
import { MatrixRespondLimiter } from './matrix-respond-limiter.js';
import { MatrixRoomSender } from './matrix-room-sender.js';
import { outsideText } from '../http/outside-text.js';

interface SyncResponse {
  next_batch: string;
  rooms?: {
    join?: Record<string, { timeline?: { events?: MatrixRoomEvent[]; limited?: boolean; prev_batch?: string } }>;
    invite?: Record<string, { invite_state?: { events?: MatrixRoomEvent[] } }>;
  };
}

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

const TIMELINE_TYPES = ['m.room.message', 'm.room.redaction', 'm.reaction'];
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
  private readonly answering = new Map<string, AbortController>();
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
  /** When this bridge first started: `respond` answers no message older (a restart keeps it). */
  private startedAt?: number;
  private limiter?: MatrixRespondLimiter;

  constructor(
    readonly name: string,
    definition: BridgeDefinition,
  ) {
    this.config = parseMatrixConfig(definition);
  }

  /** Upstream's supervision block, when the document has one. */
  get supervision(): SupervisionOptions | undefined {
    return this.config.supervision;
  }

  async start(ctx: BridgeContext): Promise<void> {
    const cfg = this.config;
    this.ctx = ctx;
    this.startedAt ??= Date.now();
    if (cfg.respond) this.limiter ??= new MatrixRespondLimiter(cfg.respond);
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
    if (cfg.syncFilter) this.filterId = await this.createFilter();
    this.setUp = true;
  }

  async stop(): Promise<void> {
    this.running = false;
    this.stopSync.abort(new Error('bridge stopping'));
    for (const ac of this.answering.values()) ac.abort(new Error('the Matrix bridge stopped'));
    this.answering.clear();
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
      answering: this.answering.size,
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

  private async createFilter(): Promise<string> {
    const cfg = this.config;
    const res = await this.http.request<{ filter_id: string }>(
      'POST',
      `user/${seg(cfg.userId)}/filter`,
      this.filterDefinition(cfg.syncTimelineLimit),
    );
    return res.filter_id;
  }

  /** The sync filter: with `sync_filter`, the configured rooms' messages, redactions and reactions; always a bounded timeline. */
  private filterDefinition(limit: number): Record<string, unknown> {
    const cfg = this.config;
    if (!cfg.syncFilter) return { room: { timeline: { limit } } };
    return {
      presence: { types: [] },
      account_data: { types: [] },
      room: {
        // With autojoin the bot serves rooms it is invited to later, so the filter cannot list them in advance.
        ...(cfg.autojoin ? {} : { rooms: cfg.roomIds }),
        timeline: { types: TIMELINE_TYPES, limit },
        state: { types: [], lazy_load_members: true },
        ephemeral: { types: [] },
        account_data: { types: [] },
      },
    };
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
        else if (cfg.syncFilter && !this.filterId) this.filterId = await this.createFilter();
        const data = await this.http.request<SyncResponse>('GET', 'sync', undefined, {
          query: {
            since: this.cursor,
            timeout: initial ? 0 : cfg.syncTimeoutMs,
            // Without a stored filter, or with a smaller timeline, the filter goes inline: never an unbounded batch.
            filter:
              this.filterId && this.timelineLimit === cfg.syncTimelineLimit
                ? this.filterId
                : JSON.stringify(this.filterDefinition(this.timelineLimit)),
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
      const inviter = (invite.invite_state?.events ?? []).find(
        (e) => e.type === 'm.room.member' && (e as { state_key?: string }).state_key === cfg.userId,
      )?.sender;
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
    const bus = this.ctx!.bus;
    const cfg = this.config;
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
        if (cfg.respond && this.triggers(c.text, c.mentionsBot) && this.mayAnswer(roomId, ev, c.bridgeTurn)) {
          this.answer(roomId, ev, c.text, c.threadId, session, payload, (c.bridgeTurn ?? 0) + 1);
        }
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
        this.answering.get(c.redacts)?.abort(new Error('the question was redacted'));
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
          this.answering.get(c.relatesTo)?.abort(new Error('cancelled by reaction'));
        return;
      default:
        this.stats.ignored++;
    }
  }

  private triggers(text: string, mentionsBot: boolean): boolean {
    const r = this.config.respond!;
    if (r.trigger === 'all') return true;
    if (r.trigger === 'prefix') return text.trimStart().startsWith(r.prefix);
    return mentionsBot;
  }

  /**
   * Whether a triggering message gets an agent call: not when it is older than the bridge (a replayed or back-filled
   * history is published, never answered), not when another bridge sent it past `bridge_turns`, and not past the
   * per-room and per-sender limits (then one busy notice a minute, or nothing).
   */
  private mayAnswer(roomId: string, ev: MatrixRoomEvent, bridgeTurn: number | undefined): boolean {
    const r = this.config.respond!;
    if (typeof ev.origin_server_ts !== 'number' || ev.origin_server_ts < this.startedAt!) {
      this.stats.notAnsweredOld++;
      return false;
    }
    if (bridgeTurn !== undefined && bridgeTurn >= r.bridgeTurns) {
      this.stats.notAnsweredBridge++;
      return false;
    }
    const admission = this.limiter!.admit(roomId, ev.sender);
    if (admission === 'call') return true;
    this.stats.overLimit++;
    if (admission === 'notice') {
      const content = {
        ...bridgeMarker(this.name, (bridgeTurn ?? 0) + 1),
        msgtype: 'm.notice',
        body: 'Too many questions at once; this one is not answered. Please ask again in a minute.',
        'm.relates_to': { 'm.in_reply_to': { event_id: ev.event_id } },
      };
      this.sender!.send(
        roomId,
        'm.room.message',
        content,
        `oaio.busy.${createHash('sha256').update(ev.event_id).digest('hex').slice(0, 20)}`,
      ).catch((err: Error) => this.ctx?.logger.warn(`bridge "${this.name}": could not send the busy notice in ${roomId}: ${err.message}`));
    }
    return false;
  }

  /** Calls the respond target for a room message and writes its answer into the room (not awaited by the sync loop). */
  private answer(
    roomId: string,
    ev: MatrixRoomEvent,
    text: string,
    threadId: string | undefined,
    session: string,
    payload: object,
    turn: number,
  ): void {
    const r = this.config.respond!;
    const ac = new AbortController();
    this.answering.set(ev.event_id, ac);
    const question = r.trigger === 'prefix' ? text.trimStart().slice(r.prefix.length).trim() : text;
    const answer = new MatrixAnswer(
      this.sender!,
      {
        roomId,
        triggerEventId: ev.event_id,
        triggerThreadId: threadId,
        msgtype: this.config.outboundMsgtype,
        marker: bridgeMarker(this.name, turn),
      },
      r,
      this.answerStats,
      () => this.typing(roomId, false),
    );
    if (r.typing) this.typing(roomId, true);
    const bus = this.ctx!.bus;
    const options = {
      session_id: session,
      conversation_id: roomId,
      signal: ac.signal,
      timeout: r.timeoutMs,
      metadata: { 'matrix.room_id': roomId, 'matrix.event_id': ev.event_id },
    };
    const run = async (): Promise<string | undefined> => {
      if (r.mode === 'invoke') {
        const result = await bus.invoke(r.target, { ...payload, text: question }, options);
        answer.append(typeof result === 'string' ? result : JSON.stringify(result));
        return undefined;
      }
      for await (const frame of bus.stream(r.target, { ...payload, text: question }, options)) {
        const d = (frame.payload as { delta?: unknown } | undefined)?.delta;
        if (frame.event_type === 'agent.response.delta' && typeof d === 'string') answer.append(d);
      }
      return undefined;
    };
    void run()
      .then(
        () => answer.finish(),
        (err: Error) =>
          // The room is outside: an agent's or the bus's error text is cut, redacted and names no reply subject.
          answer.finish(
            ac.signal.aborted
              ? `⏹ cancelled (${outsideText(String((ac.signal.reason as Error)?.message ?? 'aborted'), 200)})`
              : `⚠️ ${outsideText(String(err?.message ?? err), 500)}`,
          ),
      )
      .catch((err: Error) => this.ctx?.logger.warn(`bridge "${this.name}": could not write the answer in ${roomId}: ${err.message}`))
      .finally(() => {
        this.answering.delete(ev.event_id);
        this.limiter?.release(roomId, ev.sender);
        if (r.typing) this.typing(roomId, false);
      });
  }

  private typing(roomId: string, on: boolean): void {
    const body = on ? { typing: true, timeout: 30_000 } : { typing: false };
    void this.http.request('PUT', `rooms/${seg(roomId)}/typing/${seg(this.config.userId)}`, body).catch(() => undefined);
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

/** An inviter allowed by `autojoin_allow` (empty: anyone): its user id, or `*:<its server>`. */
function allowedInviter(userId: string, allow: string[]): boolean {
  if (allow.length === 0) return true;
  const server = userId.slice(userId.indexOf(':') + 1);
  return allow.some((a) => a === userId || a === `*:${server}`);
}

export const matrixEventBridgeFactory: BridgeFactory = (definition: BridgeDefinition) => new MatrixEventBridge(definition.name, definition);
