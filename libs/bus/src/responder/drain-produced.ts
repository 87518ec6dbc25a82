import type { StreamWriter } from '../interfaces/stream-writer.interface.js';
import type { AbortLike } from '../utils/lazy-abort.js';
import { isAsyncIterable } from './async-iterable.js';

/**
 * Turns what a stream handler returned into deltas: an async iterable (each item a delta, its return value
 * the result, else the last item), an Observable (each value a delta, the last value the result), or a plain
 * value (the result). Every delta waits for flow-control credit.
 */
export async function drainProduced(produced: unknown, writer: StreamWriter, signal: AbortLike): Promise<unknown> {
  if (isAsyncIterable(produced)) {
    const it = produced[Symbol.asyncIterator]();
    let last: unknown;
    let sawItem = false;
    try {
      for (;;) {
        if (signal.aborted) throw signal.reason;
        const r = await it.next();
        if (r.done) return r.value !== undefined ? r.value : sawItem ? last : undefined;
        last = r.value;
        sawItem = true;
        await writer.delta(r.value);
      }
    } catch (err) {
      await it.return?.(undefined).catch(() => undefined);
      throw err;
    }
  }
  if (isObservableLike(produced)) return drainObservable(produced, writer, signal);
  return produced;
}

export interface ObservableLike {
  subscribe(observer: { next(v: unknown): void; error(e: unknown): void; complete(): void }): { unsubscribe(): void };
}

export function isObservableLike(v: unknown): v is ObservableLike {
  return !!v && typeof (v as ObservableLike).subscribe === 'function' && typeof (v as { pipe?: unknown }).pipe === 'function';
}

// An Observable cannot be paused, so its values queue here and are written one by one as credit allows.
function drainObservable(source: ObservableLike, writer: StreamWriter, signal: AbortLike): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const pending: unknown[] = [];
    let last: unknown;
    let completed = false;
    let writing = false;
    let failed = false;
    const fail = (e: unknown) => {
      if (failed) return;
      failed = true;
      sub?.unsubscribe();
      signal.removeEventListener('abort', onAbort);
      reject(e);
    };
    const onAbort = () => fail(signal.reason);
    const pump = async () => {
      if (writing) return;
      writing = true;
      try {
        while (pending.length > 0) await writer.delta(pending.shift());
      } catch (e) {
        fail(e);
        return;
      } finally {
        writing = false;
      }
      if (completed && !failed) {
        signal.removeEventListener('abort', onAbort);
        resolve(last);
      }
    };
    signal.addEventListener('abort', onAbort, { once: true });
    // Declared before it is assigned: an Observable that fails while subscribing calls `fail`, which reads it.
    // eslint-disable-next-line prefer-const
    let sub: { unsubscribe(): void } | undefined;
    sub = source.subscribe({
      next: (v) => {
        last = v;
        pending.push(v);
        void pump();
      },
      error: (e) => fail(e),
      complete: () => {
        completed = true;
        void pump();
      },
    });
    if (failed) sub.unsubscribe();
  });
}
