import type { StreamOptions } from '../interfaces/call-options.interface.js';
import type { ChatMessage } from './chat-message.js';
import type { HistoryPolicy } from './handoff-history.js';

/** Options of `bus.handoff(target, options)`. Call options (timeout, signal, metadata…) apply to the call to `target`. */
export interface HandoffOptions extends Omit<StreamOptions, 'yieldErrors'> {
  /** Why: shown to the caller in the marker and given to the next agent. */
  reason?: string;
  /** State passed explicitly to the next agent (`handoff.state`, JSON); not shown in the marker. */
  state?: unknown;
  /** The next agent's payload (its `messages` and `handoff` keys are set by the handoff). Default: the payload of the call being served. */
  input?: unknown;
  /** The conversation. Default: `input.messages` when it is an array. */
  messages?: ChatMessage[];
  /** What of the conversation the next agent gets. Default `'all'`. */
  history?: HistoryPolicy;
  /** Call `target` as a stream (default) or an invoke (its result is the handoff's result; no frames to relay). */
  kind?: 'stream' | 'invoke';
  /** Most handoffs one turn may go through. Default 5. */
  maxDepth?: number;
  /** Let the turn come back to an agent it already went through (A → B → A), bounded by `maxDepth`. Default false. */
  allowRevisit?: boolean;
  /** Publish the handoff event, so the session's next turn goes to `target` where SessionRoutes is followed. Default true. */
  remember?: boolean;
  /** The name the chain and the marker give the agent handing over. Default: the target being served, else the bus's agent id. */
  from?: string;
}
