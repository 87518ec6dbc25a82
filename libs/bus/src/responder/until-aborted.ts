import type { AbortLike } from '../utils/lazy-abort.js';

/**
 * Waits for a handler, but no longer than its signal: a handler that ignores its AbortSignal must not keep its
 * caller waiting past the deadline or hold its concurrency slot; what it returns later is dropped.
 */
export function untilAborted<T>(value: T | Promise<T>, signal: AbortLike): Promise<T> {
  if (!value || typeof (value as Promise<T>).then !== 'function') return Promise.resolve(value as T);
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    (value as Promise<T>).then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}
