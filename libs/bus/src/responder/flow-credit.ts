import type { Envelope } from '../protocol/envelope.js';
import { Extensions, MetaKeys } from '../protocol/extensions.js';
import type { Inflight } from './inflight.js';

// Flow control needs both the extension and a window: an invoke advertises `flow` but grants no credit (it
// reads only the terminal frame), so without a window the producer is not limited.
export function initialCredit(ext: ReadonlySet<string>, env: Envelope): number {
  if (!ext.has(Extensions.FLOW)) return Infinity;
  const w = env.metadata?.[MetaKeys.WINDOW];
  return typeof w === 'number' && w >= 1 ? Math.floor(w) : Infinity;
}

/** Adds credit the caller granted and wakes a send waiting for it. */
export function grantCredit(call: Inflight, n: number): void {
  call.credit += n;
  const w = call.creditWaiter;
  call.creditWaiter = undefined;
  w?.();
}

/** Resolves when the caller grants credit; rejects when the call is aborted first. */
export function waitForCredit(call: Inflight): Promise<void> {
  const signal = call.abort;
  return new Promise<void>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    call.creditWaiter = () => {
      signal.removeEventListener('abort', onAbort);
      if (signal.aborted) reject(signal.reason);
      else resolve();
    };
  });
}
