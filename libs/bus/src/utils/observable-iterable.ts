import type { Observable } from 'rxjs';

/**
 * Reads an Observable as an async iterable. Observables cannot be paused, so values wait in a queue until the
 * consumer takes them; leaving the loop unsubscribes. `onWaiting` tells a pull-based source when the
 * consumer is waiting for a value (true) and when it has one (false).
 */
export async function* observableToAsyncIterable<T>(
  source: Observable<T>,
  onWaiting?: (waiting: boolean) => void,
): AsyncGenerator<T, void, undefined> {
  const queue: T[] = [];
  let done = false;
  let failure: { error: unknown } | undefined;
  let wake: (() => void) | undefined;
  const notify = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  onWaiting?.(false);
  const sub = source.subscribe({
    next: (v) => {
      queue.push(v);
      onWaiting?.(false);
      notify();
    },
    error: (e) => {
      failure = { error: e };
      notify();
    },
    complete: () => {
      done = true;
      notify();
    },
  });
  try {
    for (;;) {
      if (queue.length > 0) {
        yield queue.shift() as T;
        continue;
      }
      if (failure) throw failure.error;
      if (done) return;
      const waiting = new Promise<void>((resolve) => (wake = resolve));
      onWaiting?.(true);
      await waiting;
    }
  } finally {
    sub.unsubscribe();
  }
}
