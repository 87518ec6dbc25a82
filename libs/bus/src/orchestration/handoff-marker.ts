import { EventTypes, type Envelope } from '../protocol/envelope.js';
import type { HandoffHistory, HandoffInfo } from './handoff-info.js';

/**
 * What the caller of a handed-off stream sees between the first agent's frames and the second's: an ordinary
 * `agent.response.delta` whose payload is `{"data":{"handoff":{from, to, reason?, depth, chain, history}}}`
 * (docs/PROTOCOL-EXTENSIONS.md §10). The state passed to the next agent is not in it.
 */
export interface HandoffMarker {
  from: string;
  to: string;
  reason?: string;
  depth: number;
  chain: string[];
  history: HandoffHistory;
}

/** The delta payload of the marker of a handoff. */
export function handoffMarkerPayload(info: HandoffInfo): { data: { handoff: HandoffMarker } } {
  const m: HandoffMarker = { from: info.from, to: info.to, depth: info.depth, chain: info.chain, history: info.history };
  if (info.reason !== undefined) m.reason = info.reason;
  return { data: { handoff: m } };
}

/**
 * The handoff a stream frame marks, or undefined for any other frame.
 *
 * @example
 * for await (const frame of bus.stream('triage', { text })) {
 *   const h = handoffMarkerOf(frame);
 *   if (h) console.log(`handed from ${h.from} to ${h.to}: ${h.reason}`);
 * }
 */
export function handoffMarkerOf(frame: Envelope): HandoffMarker | undefined {
  if (frame.event_type !== EventTypes.DELTA) return undefined;
  const h = (frame.payload as { data?: { handoff?: Partial<HandoffMarker> } } | undefined)?.data?.handoff;
  if (!h || typeof h !== 'object' || typeof h.from !== 'string' || typeof h.to !== 'string' || !Array.isArray(h.chain)) return undefined;
  return h as HandoffMarker;
}
