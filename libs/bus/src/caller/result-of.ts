import type { Envelope } from '../protocol/envelope.js';

/**
 * The result a final frame carries: `x` when the payload is exactly `{"result": x}` (our responders' shape, and
 * upstream's golden sample), else the payload as it is (upstream runtimes send the handler's value unwrapped, so a
 * value with `result` and other keys is kept whole).
 */
export function resultOf(reply: Envelope): unknown {
  const p = reply.payload;
  if (p && typeof p === 'object' && !Array.isArray(p) && 'result' in (p as object)) {
    for (const key in p as object) if (key !== 'result') return p;
    return (p as { result: unknown }).result;
  }
  return p;
}
