/** What the responder needs of an abort source: AbortSignal and LazyAbort both fit. */
export interface AbortLike {
  readonly aborted: boolean;
  readonly reason: unknown;
  addEventListener(type: 'abort', listener: () => void, options?: { once?: boolean }): void;
  removeEventListener(type: 'abort', listener: () => void): void;
}

/**
 * An abort source whose AbortSignal is created only when someone asks for it. Most handlers never read their
 * signal, and an AbortController per request was 7% of the in-memory hot path; the responder's own waits
 * (deadline, cancellation, credit) listen here without one.
 */
export class LazyAbort implements AbortLike {
  aborted = false;
  reason: unknown = undefined;
  private controller?: AbortController;
  private listeners?: Array<(reason: unknown) => void>;

  /** The real AbortSignal (created on first use, already aborted if the call was). */
  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.aborted) this.controller.abort(this.reason);
    }
    return this.controller.signal;
  }

  abort(reason: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    const listeners = this.listeners;
    this.listeners = undefined;
    if (listeners) for (const l of listeners) l(reason);
    this.controller?.abort(reason);
  }

  /** The listener is called with the reason (an AbortSignal's gets an Event): `reject` itself can listen. */
  addEventListener(_type: 'abort', listener: (reason: unknown) => void, _options?: { once?: boolean }): void {
    if (this.aborted) return;
    // An array literal of one: a push onto `[]` would reserve 17 slots, and most calls never have a second listener.
    if (this.listeners) this.listeners.push(listener);
    else this.listeners = [listener];
  }

  removeEventListener(_type: 'abort', listener: (reason: unknown) => void): void {
    const list = this.listeners;
    if (!list) return;
    const i = list.indexOf(listener);
    if (i >= 0) list.splice(i, 1);
  }
}
