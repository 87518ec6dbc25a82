import { isObservable, Observable } from 'rxjs';
import { isThenable } from '../utils/is-thenable.js';
import { observableToAsyncIterable } from '../utils/observable-iterable.js';
import { isAsyncIterable } from '../responder/async-iterable.js';

/**
 * What a @Stream method returned, recorded when Nest calls it (for handlers with interceptors that is only
 * when the interceptor chain is subscribed, so it is read lazily):
 * - `iterable`: an async iterable; its items are deltas, its return value the result;
 * - `observable`: every value a delta, the last value the result;
 * - `value`: a plain value or Promise (a writer-style handler): it is the result, never a delta.
 */
export interface StreamResultRecord {
  kind: 'value' | 'observable' | 'iterable';
  returnValue?: unknown;
  /** True while the consumer waits for the next item; the iterable is pulled only then (flow control). */
  consumerWaiting: boolean;
  wake?: () => void;
}

export function newStreamRecord(): StreamResultRecord {
  return { kind: 'value', consumerWaiting: true };
}

/** Normalises a @Stream method's return value so interceptors see each item, and records what it was. */
export function adaptStreamResult(result: unknown, rec: StreamResultRecord): unknown {
  if (isObservable(result)) {
    rec.kind = 'observable';
    return result;
  }
  if (isAsyncIterable(result)) {
    rec.kind = 'iterable';
    return iterableToObservable(result, rec);
  }
  if (isThenable(result)) {
    return (result as Promise<unknown>).then((v) => adaptStreamResult(v, rec));
  }
  return result;
}

/**
 * Reads the (possibly intercepted) Observable of a @Stream method as deltas, returning the final result:
 * the iterable's return value, else the last value; for a plain value, that value alone.
 */
export async function* streamFromObservable(
  source: Observable<unknown>,
  rec: StreamResultRecord,
): AsyncGenerator<unknown, unknown, undefined> {
  let last: unknown;
  const iter = observableToAsyncIterable(source, (waiting) => {
    rec.consumerWaiting = waiting;
    if (waiting) {
      const w = rec.wake;
      rec.wake = undefined;
      w?.();
    }
  });
  for await (const value of iter) {
    last = value;
    if (rec.kind !== 'value') yield value;
  }
  if (rec.kind === 'iterable' && rec.returnValue !== undefined) return rec.returnValue;
  return last;
}

// Pull-based bridge: the next item is taken from the iterable only while the consumer is waiting, so a slow
// consumer (flow-control credit) slows the generator even with interceptors in between.
function iterableToObservable(iterable: AsyncIterable<unknown>, rec: StreamResultRecord): Observable<unknown> {
  return new Observable<unknown>((subscriber) => {
    const it = iterable[Symbol.asyncIterator]();
    let stopped = false;
    void (async () => {
      try {
        for (;;) {
          while (!rec.consumerWaiting && !stopped) await new Promise<void>((r) => (rec.wake = r));
          if (stopped) return;
          const r = await it.next();
          if (stopped) return;
          if (r.done) {
            rec.returnValue = r.value;
            subscriber.complete();
            return;
          }
          subscriber.next(r.value);
        }
      } catch (err) {
        if (!stopped) subscriber.error(err);
      }
    })();
    return () => {
      stopped = true;
      const w = rec.wake;
      rec.wake = undefined;
      w?.();
      void it.return?.(undefined)?.catch(() => undefined);
    };
  });
}
