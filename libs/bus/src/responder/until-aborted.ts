import type { LazyAbort } from '../utils/lazy-abort.js';

/**
 * Waits for a handler, but no longer than its signal: a handler that ignores its AbortSignal must not keep its
 * caller waiting past the deadline or hold its concurrency slot; what it returns later is dropped.
 */
export function untilAborted<T>(value: T | Promise<T>, signal: LazyAbort): Promise<T> {
  if (!value || typeof (value as Promise<T>).then !== 'function') return Promise.resolve(value as T);
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    // LazyAbort calls its listeners with the reason, so `reject` listens itself: no closure per wait (a handler that
    // waits for its cancellation keeps this one for as long as it runs).
    signal.addEventListener('abort', reject, { once: true });
    (value as Promise<T>).then(
      (v) => {
        signal.removeEventListener('abort', reject);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', reject);
        reject(e);
      },
    );
  });
}
