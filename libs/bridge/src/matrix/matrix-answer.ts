import { createHash } from 'node:crypto';
import type { MatrixRespondConfig } from './matrix-config.js';
import type { MatrixRoomSender } from './matrix-room-sender.js';

/** Counters of rendered answers. */
export interface MatrixAnswerStats {
  answers: number;
  messages: number;
  edits: number;
}

export interface MatrixAnswerTarget {
  roomId: string;
  /** The message that asked. The answer replies to it; continuations go to a thread on it (or on its thread). */
  triggerEventId: string;
  triggerThreadId?: string;
  msgtype: 'm.text' | 'm.notice';
  /** Fields every message and edit of the answer carries (the bridge marker). */
  marker?: Record<string, unknown>;
}

/**
 * An agent's answer in a room, written while it streams: one message, edited in place (`m.replace`) at a bounded
 * rate, never more than one edit in flight and at least `editIntervalMs` apart. A message takes at most
 * `maxEdits` edits and `maxMessageChars` characters; the rest continues in a new message in the thread. The final
 * text is always written exactly. Clients that load a room replay every edit, so bots that edited per token made
 * rooms unusable: the rate is the design, not a detail.
 */
export class MatrixAnswer {
  private text = '';
  /** Where the message being edited starts in `text`. */
  private segmentStart = 0;
  private current?: { eventId: string; edits: number; shown: string };
  private inFlight?: Promise<void>;
  private timer?: NodeJS.Timeout;
  private lastWriteAt = 0;
  private seq = 0;
  private readonly txnBase: string;
  private failed?: unknown;
  /** finish() writes the rest itself: no further timed write may start beside it. */
  private finishing = false;

  constructor(
    private readonly sender: MatrixRoomSender,
    private readonly target: MatrixAnswerTarget,
    private readonly cfg: MatrixRespondConfig,
    private readonly stats: MatrixAnswerStats,
    private readonly onFirstMessage?: () => void,
  ) {
    // The same trigger always gives the same transaction ids: a resend after a lost answer is not a second message.
    this.txnBase = `oaio.a.${createHash('sha256').update(target.triggerEventId).digest('hex').slice(0, 20)}`;
    stats.answers++;
  }

  /** More text of the answer; written at the next allowed edit. */
  append(delta: string): void {
    if (!delta) return;
    this.text += delta;
    this.schedule();
  }

  /** Writes the final text exactly (with `note`, e.g. an error, appended) and waits until it is in the room. */
  async finish(note?: string): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (note) this.text += this.text ? `\n\n${note}` : note;
    if (!this.text) this.text = '(no answer)';
    this.finishing = true;
    // A write in flight would schedule the next when it ends, racing finish's own writes (two edits of one message
    // at once, past max_edits): wait until none is in flight, then write alone.
    while (this.inFlight) await this.inFlight;
    while (!this.failed && this.pending()) await this.write();
    if (this.failed) throw this.failed;
  }

  private pending(): boolean {
    return !this.current || this.current.shown !== this.text.slice(this.segmentStart);
  }

  private schedule(): void {
    if (this.finishing || this.inFlight || this.timer || this.failed) return;
    const wait = this.lastWriteAt + this.cfg.editIntervalMs - Date.now();
    if (wait > 0) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.flush();
      }, wait);
    } else {
      this.flush();
    }
  }

  private flush(): void {
    if (!this.pending()) return;
    this.inFlight = this.write()
      .catch((err) => {
        this.failed = err;
      })
      .finally(() => {
        this.inFlight = undefined;
        if (this.pending()) this.schedule();
      });
  }

  /** One write: the first message, an edit, or (when the message is full) its last edit and a continuation. */
  private async write(): Promise<void> {
    this.lastWriteAt = Date.now();
    const slice = this.text.slice(this.segmentStart);
    const cur = this.current;
    if (!cur) {
      const shown = slice.slice(0, this.cfg.maxMessageChars);
      const eventId = await this.sender.send(this.target.roomId, 'm.room.message', this.messageContent(shown), this.nextTxn());
      this.stats.messages++;
      this.current = { eventId, edits: 0, shown };
      if (this.seq === 1) this.onFirstMessage?.();
      if (shown.length < slice.length) this.startContinuation(shown.length);
      return;
    }
    if (cur.edits >= this.cfg.maxEdits) {
      // No edit left: this message keeps what it shows, and the rest goes into a new one.
      this.startContinuation(cur.shown.length);
      return this.write();
    }
    const shown = slice.slice(0, this.cfg.maxMessageChars);
    if (shown !== cur.shown) {
      await this.sender.send(this.target.roomId, 'm.room.message', this.editContent(cur.eventId, shown), this.nextTxn());
      this.stats.edits++;
      cur.edits++;
      cur.shown = shown;
    }
    if (shown.length < slice.length) this.startContinuation(shown.length);
  }

  /** The message being edited is full: what follows goes into a new message. */
  private startContinuation(consumed: number): void {
    this.segmentStart += consumed;
    this.current = undefined;
  }

  private messageContent(body: string): Record<string, unknown> {
    const content: Record<string, unknown> = { ...this.target.marker, msgtype: this.target.msgtype, body };
    const { triggerEventId, triggerThreadId } = this.target;
    if (this.segmentStart === 0) {
      // The first message of the answer replies to the question (inside its thread, if it was asked in one).
      content['m.relates_to'] = triggerThreadId
        ? { rel_type: 'm.thread', event_id: triggerThreadId, is_falling_back: false, 'm.in_reply_to': { event_id: triggerEventId } }
        : { 'm.in_reply_to': { event_id: triggerEventId } };
    } else {
      // A continuation: in the thread of the question (or the thread the question is in).
      const root = triggerThreadId ?? triggerEventId;
      content['m.relates_to'] = {
        rel_type: 'm.thread',
        event_id: root,
        is_falling_back: true,
        'm.in_reply_to': { event_id: triggerEventId },
      };
    }
    return content;
  }

  private editContent(eventId: string, body: string): Record<string, unknown> {
    return {
      ...this.target.marker,
      msgtype: this.target.msgtype,
      body: `* ${body}`,
      'm.new_content': { msgtype: this.target.msgtype, body },
      'm.relates_to': { rel_type: 'm.replace', event_id: eventId },
    };
  }

  private nextTxn(): string {
    return `${this.txnBase}.${this.seq++}`;
  }
}
