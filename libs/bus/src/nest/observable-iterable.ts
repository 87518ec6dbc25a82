import type { Observable } from 'rxjs';

/**
 * Reads an Observable as an async iterable. Observables cannot be paused, so values wait in a queue until the
 * consumer takes them; leaving the loop unsubscribes.
 */
export async function* observableToAsyncIterable<T>(source: Observable<T>): AsyncGenerator<T, void, undefined> {
  const queue: T[] = [];
  let done = false;
  let failure: { error: unknown } | undefined;
  let wake: (() => void) | undefined;
  const notify = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  const sub = source.subscribe({
    next: (v) => {
      queue.push(v);
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
      await new Promise<void>((resolve) => (wake = resolve));
    }
  } finally {
    sub.unsubscribe();
  }
}
