import type { MatrixRespondConfig } from './matrix-config.js';

/** What to do with a triggering message: call the agent, tell the sender the bot is busy, or nothing. */
export type Admission = 'call' | 'notice' | 'drop';

const MINUTE_MS = 60_000;

/**
 * Caps agent calls per room and per sender: in flight, and started in the last minute. One member (or another
 * bot) posting thousands of triggering messages gets a bounded number of calls; the rest are refused, with at most
 * one busy notice per sender and room a minute. Every structure is bounded by the limits or by the senders seen in
 * the last minute.
 */
export class MatrixRespondLimiter {
  private readonly running = new Map<string, number>();
  private readonly started = new Map<string, number[]>();
  private readonly noticed = new Map<string, number>();

  constructor(private readonly cfg: MatrixRespondConfig) {}

  admit(roomId: string, sender: string, now = Date.now()): Admission {
    const room = `r ${roomId}`;
    const who = `s ${sender}`;
    const cfg = this.cfg;
    const over =
      (this.running.get(room) ?? 0) >= cfg.maxConcurrentPerRoom ||
      (this.running.get(who) ?? 0) >= cfg.maxConcurrentPerSender ||
      this.recent(room, now) >= cfg.maxPerMinutePerRoom ||
      this.recent(who, now) >= cfg.maxPerMinutePerSender;
    if (!over) {
      for (const k of [room, who]) {
        this.running.set(k, (this.running.get(k) ?? 0) + 1);
        const list = this.started.get(k);
        if (list) list.push(now);
        else this.started.set(k, [now]);
      }
      return 'call';
    }
    if (cfg.overLimit === 'drop') return 'drop';
    const key = `${roomId} ${sender}`;
    const last = this.noticed.get(key);
    if (last !== undefined && now - last < MINUTE_MS) return 'drop';
    if (this.noticed.size > 10_000) for (const [k, t] of this.noticed) if (now - t >= MINUTE_MS) this.noticed.delete(k);
    this.noticed.set(key, now);
    return 'notice';
  }

  /** A call admitted for this room and sender has ended. */
  release(roomId: string, sender: string): void {
    for (const k of [`r ${roomId}`, `s ${sender}`]) {
      const n = (this.running.get(k) ?? 1) - 1;
      if (n <= 0) this.running.delete(k);
      else this.running.set(k, n);
    }
  }

  /** Calls started for `key` in the last minute (older entries dropped). */
  private recent(key: string, now: number): number {
    const list = this.started.get(key);
    if (!list) return 0;
    let old = 0;
    while (old < list.length && now - list[old] >= MINUTE_MS) old++;
    if (old > 0) list.splice(0, old);
    if (list.length === 0) {
      this.started.delete(key);
      return 0;
    }
    return list.length;
  }
}
