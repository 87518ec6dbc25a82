/** Names the history policy a handoff used, as the next agent and the marker see it. */
export type HistoryPolicyName = 'all' | 'filtered' | 'nested' | 'reference' | 'none';

/** How the conversation reached the next agent: in `payload.messages` (`count` of them), or stored under `ref`. */
export interface HandoffHistory {
  policy: HistoryPolicyName;
  /** Messages delivered in `payload.messages`, or stored under `ref` when the handoff stored them. */
  count?: number;
  /** The stored conversation to load (policy `reference`). */
  ref?: string;
}

/**
 * What the agent a conversation is handed to finds in `payload.handoff` (read it with `handoffOf(payload)`).
 * The same session, trace and (what is left of the) deadline arrive as on any nested call.
 */
export interface HandoffInfo {
  /** The target that handed the conversation over. */
  from: string;
  /** The target it was handed to (the one reading this). */
  to: string;
  reason?: string;
  /** State the first agent passed explicitly (JSON). Not shown to the caller: the marker leaves it out. */
  state?: unknown;
  /** 1 for the first handoff of a conversation turn, 2 when the receiver of a handoff hands on, … */
  depth: number;
  /** Every target the turn went through, the first to this one: `['triage', 'billing']`. */
  chain: string[];
  history: HandoffHistory;
}

/** The payload key of the handoff information. */
export const HANDOFF_KEY = 'handoff';

/**
 * The handoff information of a request payload, or undefined when the call is not a handoff.
 *
 * @example
 * @Stream('billing')
 * async *billing(@Payload() p: { text: string; messages?: ChatMessage[] }) {
 *   const h = handoffOf(p);
 *   if (h) yield `(${h.from} sent you here: ${h.reason}) `;
 * }
 */
export function handoffOf(payload: unknown): HandoffInfo | undefined {
  if (!payload || typeof payload !== 'object' || Array.isArray(payload)) return undefined;
  const h = (payload as Record<string, unknown>)[HANDOFF_KEY] as Partial<HandoffInfo> | undefined;
  if (!h || typeof h !== 'object' || typeof h.from !== 'string' || typeof h.to !== 'string') return undefined;
  if (typeof h.depth !== 'number' || !Array.isArray(h.chain) || !h.chain.every((c) => typeof c === 'string')) return undefined;
  return h as HandoffInfo;
}
