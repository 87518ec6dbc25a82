import type { Envelope } from '../protocol/envelope.js';

/** The result a final frame carries: `payload.result`, or the payload itself for peers that send another shape. */
export function resultOf(reply: Envelope): unknown {
  const p = reply.payload;
  if (p && typeof p === 'object' && !Array.isArray(p) && 'result' in (p as object)) return (p as { result: unknown }).result;
  return p;
}
