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

/** Does nothing: what linkSignals returns when there is nothing to unlink. */
export function noop(): void {}
