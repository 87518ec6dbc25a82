/** Calls `onAbort` when any of the signals aborts; returns a function that removes the listeners. */
export function linkSignals(signals: ReadonlyArray<AbortSignal | undefined>, onAbort: (reason: unknown) => void): () => void {
  let live = 0;
  for (const s of signals) {
    if (!s) continue;
    if (s.aborted) {
      onAbort(s.reason);
      return noop;
    }
    live++;
  }
  if (live === 0) return noop;
  // No array of the live signals: the caller's own array is kept instead (removing a listener a signal does not
  // have is a no-op), and a call that holds its link while open saves the array and its backing store.
  const listener = (ev: Event) => onAbort((ev.target as AbortSignal).reason);
  for (const s of signals) s?.addEventListener('abort', listener, { once: true });
  return () => {
    for (const s of signals) s?.removeEventListener('abort', listener);
  };
}

/** A listener object: `handleEvent` is called with the abort event (no closure per listener). */
export interface AbortListener {
  handleEvent(ev: Event): void;
}

/** The signals `listenAll` listens to: one as it is (the usual case), several as the caller's array. */
export type SignalLink = AbortSignal | ReadonlyArray<AbortSignal | undefined>;

/**
 * Adds `listener`, an object with `handleEvent` (no closure per call), to each signal given, once; undefined when
 * none is given. Signals already aborted are the caller's to check first.
 */
export function listenAll(signals: ReadonlyArray<AbortSignal | undefined>, listener: AbortListener): SignalLink | undefined {
  let one: AbortSignal | undefined;
  let count = 0;
  for (const s of signals) {
    if (!s) continue;
    s.addEventListener('abort', listener, { once: true });
    one = s;
    count++;
  }
  return count === 0 ? undefined : count === 1 ? one : signals;
}

/** Removes what `listenAll` added. */
export function unlistenAll(link: SignalLink, listener: AbortListener): void {
  if (link instanceof AbortSignal) link.removeEventListener('abort', listener);
  else for (const s of link) s?.removeEventListener('abort', listener);
}

/** Does nothing: what linkSignals returns when there is nothing to unlink. */
export function noop(): void {}
