import { BusError } from '../errors/bus-error.js';
import { ErrorCodes } from '../errors/error-codes.js';
import type { HandoffInfo } from './handoff-info.js';

/** Handoffs one turn may go through unless `maxDepth` says otherwise. */
export const DEFAULT_MAX_HANDOFF_DEPTH = 5;

/**
 * The next hop of a handoff chain, or a clear INVALID_REQUEST: handing to itself, handing back to an agent the turn
 * already went through (a cycle, unless `allowRevisit`), or more than `maxDepth` handoffs in one turn. The chain
 * travels in the payload (`handoff.chain`), so the guard holds across processes and through any agent that hands on.
 */
export function nextHop(
  inbound: HandoffInfo | undefined,
  from: string,
  to: string,
  maxDepth: number,
  allowRevisit: boolean,
): { depth: number; chain: string[] } {
  const chain = inbound ? inbound.chain.slice() : [];
  if (chain[chain.length - 1] !== from) chain.push(from);
  const depth = (inbound?.depth ?? 0) + 1;
  const path = [...chain, to].join(' → ');
  if (to === from) {
    throw new BusError(ErrorCodes.INVALID_REQUEST, `handoff: "${from}" cannot hand the conversation to itself`, {
      cause: { reason: 'handoff_loop', chain: [...chain, to] },
    });
  }
  if (!allowRevisit && chain.includes(to)) {
    throw new BusError(
      ErrorCodes.INVALID_REQUEST,
      `handoff loop: ${path} ("${to}" already had this conversation in this turn; pass allowRevisit to allow it, bounded by maxDepth)`,
      { cause: { reason: 'handoff_loop', chain: [...chain, to] } },
    );
  }
  if (depth > maxDepth) {
    throw new BusError(ErrorCodes.INVALID_REQUEST, `handoff depth limit: ${path} would be handoff ${depth}, maxDepth is ${maxDepth}`, {
      cause: { reason: 'handoff_depth', chain: [...chain, to], max_depth: maxDepth },
    });
  }
  return { depth, chain: [...chain, to] };
}
