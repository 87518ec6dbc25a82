/** Calls `onAbort` when any of the signals aborts; returns a function that removes the listeners. */
export function linkSignals(signals: ReadonlyArray<AbortSignal | undefined>, onAbort: (reason: unknown) => void): () => void {
  const live: AbortSignal[] = [];
  for (const s of signals) {
    if (!s) continue;
    if (s.aborted) {
      onAbort(s.reason);
      return noop;
    }
    live.push(s);
  }
  if (live.length === 0) return noop;
  const listener = (ev: Event) => onAbort((ev.target as AbortSignal).reason);
  for (const s of live) s.addEventListener('abort', listener, { once: true });
  return () => {
    for (const s of live) s.removeEventListener('abort', listener);
  };
}

/** Does nothing: what linkSignals returns when there is nothing to unlink. */
export function noop(): void {}
