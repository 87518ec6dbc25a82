import { createHash } from 'node:crypto';
import type { BridgeContext } from '../interfaces/bridge.interface.js';
import { outsideText } from '../http/outside-text.js';
import { MatrixAnswer, type MatrixAnswerStats } from './matrix-answer.js';
import type { MatrixBridgeConfig } from './matrix-config.js';
import { bridgeMarker, type MatrixRoomEvent } from './matrix-events.js';
import { seg, type MatrixHttp } from './matrix-http.js';
import { MatrixRespondLimiter } from './matrix-respond-limiter.js';
import type { MatrixRoomSender } from './matrix-room-sender.js';

/** The bridge counters the responder keeps (a part of `MatrixBridgeStats`). */
export interface MatrixRespondStats {
  notAnsweredOld: number;
  notAnsweredBridge: number;
  overLimit: number;
}

/** What answering needs of its bridge; the connection parts are made anew at each start, hence getters. */
export interface MatrixResponderHost {
  readonly name: string;
  readonly config: MatrixBridgeConfig;
  readonly stats: MatrixRespondStats;
  readonly answerStats: MatrixAnswerStats;
  context(): BridgeContext | undefined;
  http(): MatrixHttp;
  sender(): MatrixRoomSender | undefined;
}

/** A published room message that may get an agent's answer. */
export interface MatrixQuestion {
  roomId: string;
  ev: MatrixRoomEvent;
  text: string;
  mentionsBot: boolean;
  bridgeTurn: number | undefined;
  threadId: string | undefined;
  session: string;
  payload: object;
}

/**
 * The `respond` role of a Matrix bridge: decides whether a room message is answered (trigger, age, bridge turns,
 * limits), calls the respond target and writes its answer into the room; answers run beside the sync loop.
 */
export class MatrixResponder {
  /** Answers being written, by the event id of the message they answer (redaction or a reaction aborts one). */
  readonly answering = new Map<string, AbortController>();
  /** When this bridge first started: `respond` answers no message older (a restart keeps it). */
  private startedAt?: number;
  private limiter?: MatrixRespondLimiter;

  constructor(private readonly host: MatrixResponderHost) {}

  start(): void {
    this.startedAt ??= Date.now();
    const r = this.host.config.respond;
    if (r) this.limiter ??= new MatrixRespondLimiter(r);
  }

  stop(): void {
    for (const ac of this.answering.values()) ac.abort(new Error('the Matrix bridge stopped'));
    this.answering.clear();
  }

  /** Answers a published message when `respond` is configured, it triggers and it may be answered. */
  consider(q: MatrixQuestion): void {
    if (this.host.config.respond && this.triggers(q.text, q.mentionsBot) && this.mayAnswer(q.roomId, q.ev, q.bridgeTurn)) {
      this.answer(q.roomId, q.ev, q.text, q.threadId, q.session, q.payload, (q.bridgeTurn ?? 0) + 1);
    }
  }

  private triggers(text: string, mentionsBot: boolean): boolean {
    const r = this.host.config.respond!;
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
    const h = this.host;
    const r = h.config.respond!;
    if (typeof ev.origin_server_ts !== 'number' || ev.origin_server_ts < this.startedAt!) {
      h.stats.notAnsweredOld++;
      return false;
    }
    if (bridgeTurn !== undefined && bridgeTurn >= r.bridgeTurns) {
      h.stats.notAnsweredBridge++;
      return false;
    }
    const admission = this.limiter!.admit(roomId, ev.sender);
    if (admission === 'call') return true;
    h.stats.overLimit++;
    if (admission === 'notice') {
      const content = {
        ...bridgeMarker(h.name, (bridgeTurn ?? 0) + 1),
        msgtype: 'm.notice',
        body: 'Too many questions at once; this one is not answered. Please ask again in a minute.',
        'm.relates_to': { 'm.in_reply_to': { event_id: ev.event_id } },
      };
      h.sender()!
        .send(roomId, 'm.room.message', content, `oaio.busy.${createHash('sha256').update(ev.event_id).digest('hex').slice(0, 20)}`)
        .catch((err: Error) => h.context()?.logger.warn(`bridge "${h.name}": could not send the busy notice in ${roomId}: ${err.message}`));
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
    const h = this.host;
    const r = h.config.respond!;
    const ac = new AbortController();
    this.answering.set(ev.event_id, ac);
    const question = r.trigger === 'prefix' ? text.trimStart().slice(r.prefix.length).trim() : text;
    const answer = new MatrixAnswer(
      h.sender()!,
      {
        roomId,
        triggerEventId: ev.event_id,
        triggerThreadId: threadId,
        msgtype: h.config.outboundMsgtype,
        marker: bridgeMarker(h.name, turn),
      },
      r,
      h.answerStats,
      () => this.typing(roomId, false),
    );
    if (r.typing) this.typing(roomId, true);
    const bus = h.context()!.bus;
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
      .catch((err: Error) => h.context()?.logger.warn(`bridge "${h.name}": could not write the answer in ${roomId}: ${err.message}`))
      .finally(() => {
        this.answering.delete(ev.event_id);
        this.limiter?.release(roomId, ev.sender);
        if (r.typing) this.typing(roomId, false);
      });
  }

  private typing(roomId: string, on: boolean): void {
    const body = on ? { typing: true, timeout: 30_000 } : { typing: false };
    void this.host
      .http()
      .request('PUT', `rooms/${seg(roomId)}/typing/${seg(this.host.config.userId)}`, body)
      .catch(() => undefined);
  }
}
