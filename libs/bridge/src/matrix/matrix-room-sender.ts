import { MatrixRequestError, seg, type MatrixHttp } from './matrix-http.js';
import { abortableSleep } from '@openagentio/nestjs';

/** Counters of the bridge's sends, for health and the tests. */
export interface MatrixSendStats {
  sent: number;
  /** 429 answers waited out. */
  rateLimited: number;
  /** Sends repeated after a network or server failure (same transaction id, so never posted twice). */
  retried: number;
}

const MAX_BACKOFF_MS = 30_000;

/**
 * Sends room events one room at a time, in order: each room has its own queue, so one room being rate limited
 * does not hold up the others. A 429 waits `retry_after_ms` and tries again; a network or server failure is
 * retried with the same transaction id (the homeserver answers a repeated transaction id with the first event,
 * so a send whose answer was lost is not posted twice) until `giveUpAfterMs`.
 */
export class MatrixRoomSender {
  readonly stats: MatrixSendStats = { sent: 0, rateLimited: 0, retried: 0 };
  private readonly queues = new Map<string, Promise<unknown>>();
  private stopped = new AbortController();

  constructor(
    private readonly http: MatrixHttp,
    private readonly giveUpAfterMs = 120_000,
  ) {}

  /** Queues one event for `roomId`; resolves with its Matrix event id. */
  send(roomId: string, eventType: string, content: Record<string, unknown>, txnId: string): Promise<string> {
    const prev = this.queues.get(roomId) ?? Promise.resolve();
    const next = prev.catch(() => undefined).then(() => this.sendNow(roomId, eventType, content, txnId));
    const tail = next.catch(() => undefined);
    this.queues.set(roomId, tail);
    void tail.then(() => {
      if (this.queues.get(roomId) === tail) this.queues.delete(roomId);
    });
    return next;
  }

  /** Ends every wait (sends in progress fail with the stop reason). */
  stop(): void {
    this.stopped.abort(new Error('the Matrix bridge stopped'));
    this.stopped = new AbortController();
  }

  private async sendNow(roomId: string, eventType: string, content: Record<string, unknown>, txnId: string): Promise<string> {
    const signal = this.stopped.signal;
    const giveUpAt = Date.now() + this.giveUpAfterMs;
    let backoff = 250;
    for (;;) {
      try {
        const res = await this.http.request<{ event_id: string }>(
          'PUT',
          `rooms/${seg(roomId)}/send/${seg(eventType)}/${seg(txnId)}`,
          content,
          {
            signal,
          },
        );
        this.stats.sent++;
        return res.event_id;
      } catch (err) {
        if (!(err instanceof MatrixRequestError) || !err.isTransient || Date.now() >= giveUpAt) throw err;
        let wait: number;
        if (err.status === 429) {
          this.stats.rateLimited++;
          wait = err.retryAfterMs ?? 1000;
        } else {
          this.stats.retried++;
          wait = backoff;
          backoff = Math.min(MAX_BACKOFF_MS, backoff * 2);
        }
        await abortableSleep(Math.min(wait, Math.max(0, giveUpAt - Date.now())), signal);
      }
    }
  }
}
