import type { ServerResponse } from 'node:http';
import type { Envelope } from '@openagentio/nestjs';

/**
 * One server-sent-events response: headers (`Cache-Control: no-cache`, `X-Accel-Buffering: no`), frames as
 * `event:`/`id:`/`data:`, heartbeat comments, and close detection.
 */
export class SseChannel {
  private heartbeat?: NodeJS.Timeout;
  private opened = false;
  private closedFlag = false;
  private retrySent = false;
  private readonly closeHandlers: Array<() => void> = [];

  constructor(
    readonly res: ServerResponse,
    private readonly heartbeatMs: number,
    private readonly retryMs?: number,
  ) {
    res.on('close', () => this.onClosed());
    // The client may have gone while the request body was read, before this channel existed.
    if (res.destroyed) this.closedFlag = true;
  }

  get isOpen(): boolean {
    return this.opened && !this.closedFlag;
  }

  get closed(): boolean {
    return this.closedFlag || this.res.destroyed;
  }

  /** Sends the headers (status 200) once. */
  open(extraHeaders: Record<string, string> = {}): void {
    if (this.opened || this.closed) return;
    this.opened = true;
    this.res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      'x-accel-buffering': 'no',
      connection: 'keep-alive',
      ...extraHeaders,
    });
    // A comment, not a block of its own with `retry:`: strict SSE parsers (upstream's TypeScript client) expect
    // data in every block; the reconnection delay rides on the first frame instead.
    this.res.write(': open\n\n');
    this.res.socket?.setNoDelay?.(true);
    this.heartbeat = setInterval(() => this.comment('heartbeat'), this.heartbeatMs);
    this.heartbeat.unref();
  }

  /** Writes one envelope as an SSE event (`event:`, `id:`, `retry:` on the first one, `data:`, as upstream does). */
  send(env: Envelope, named = true): void {
    if (!this.opened) this.open();
    if (this.closed) return;
    let retry = '';
    if (this.retryMs && !this.retrySent) {
      this.retrySent = true;
      retry = `retry: ${this.retryMs}\n`;
    }
    this.res.write(`${named ? `event: ${env.event_type}\n` : ''}id: ${env.event_id}\n${retry}data: ${JSON.stringify(env)}\n\n`);
  }

  /** Writes a raw `data:` event (OpenAI chunks). */
  data(text: string): void {
    if (!this.opened) this.open();
    if (this.closed) return;
    this.res.write(`data: ${text}\n\n`);
  }

  /** The socket's buffer is full: the client is not reading as fast as frames come. */
  get congested(): boolean {
    return !this.closed && this.res.writableNeedDrain;
  }

  /**
   * Resolves when the client has read what is buffered (or is gone). A producer that waits for it stops pulling
   * frames, so the bus stops granting credit and the agent slows down to the client's pace.
   */
  drained(): Promise<void> {
    if (!this.congested) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        this.res.off('drain', done);
        this.res.off('close', done);
        resolve();
      };
      this.res.on('drain', done);
      this.res.on('close', done);
    });
  }

  comment(text: string): void {
    if (this.closed || !this.opened) return;
    this.res.write(`: ${text}\n\n`);
  }

  end(): void {
    this.stopHeartbeat();
    if (!this.res.writableEnded) this.res.end();
  }

  /** Drops the connection (server side); the client's EventSource reconnects. */
  destroy(): void {
    this.stopHeartbeat();
    this.res.destroy();
  }

  onClose(fn: () => void): void {
    if (this.closedFlag) fn();
    else this.closeHandlers.push(fn);
  }

  private stopHeartbeat(): void {
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = undefined;
  }

  private onClosed(): void {
    if (this.closedFlag) return;
    this.closedFlag = true;
    this.stopHeartbeat();
    for (const f of this.closeHandlers.splice(0)) f();
  }
}

/**
 * Calls `fn` once when the client goes away before the response is complete, including when it is already gone
 * (closed while the request body was being read).
 */
export function onClientGone(res: ServerResponse, fn: () => void): void {
  if (res.destroyed && !res.writableFinished) {
    queueMicrotask(fn);
    return;
  }
  res.on('close', () => {
    if (!res.writableFinished) fn();
  });
}
