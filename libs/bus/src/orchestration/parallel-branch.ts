import type { CallOptions, StreamOptions } from '../interfaces/call-options.interface.js';
import type { ErrorPayload } from '../protocol/envelope.js';

/** A branch that invokes `invoke` (request/reply): its value is the result. */
export interface InvokeBranch {
  /** Unique within the fan-out; default the target (with `#<index>` when a target appears twice). */
  name?: string;
  invoke: string;
  payload?: unknown;
  /** Options of this branch's call, over the fan-out's (its `timeout` wins over `branchTimeout`). */
  options?: CallOptions;
}

/** A branch that streams from `stream`: its value is the final result, its text deltas are joined in `text`. */
export interface StreamBranch {
  name?: string;
  stream: string;
  payload?: unknown;
  options?: StreamOptions;
}

export type ParallelBranch = InvokeBranch | StreamBranch;

/**
 * How a branch ended: `ok` with a value; `error` with the ErrorPayload it failed with; `timed-out` (AGENT_TIMEOUT:
 * its `branchTimeout`, the fan-out's `timeout`, or the enclosing call's deadline); `cancelled` (a loser once the
 * outcome was decided, or the caller cancelled); `running` only for losers left running with `cancelLosers: false`.
 */
export type BranchStatus = 'ok' | 'error' | 'timed-out' | 'cancelled' | 'running';

/** One branch of a fan-out, as the result reports it. */
export interface BranchOutcome<T = unknown> {
  name: string;
  /** Position in the branches given. */
  index: number;
  target: string;
  kind: 'invoke' | 'stream';
  status: BranchStatus;
  /** The result (status `ok`). */
  value?: T;
  /** Why it did not succeed (every other status but `running`). */
  error?: ErrorPayload;
  /** Stream branches: the text deltas received, joined (also when the branch did not finish). */
  text?: string;
  /** When the branch was started (epoch ms). */
  startedAt: number;
  /** From its start until it ended, or until it was cancelled; for `running`, until the outcome was decided. */
  durationMs: number;
}
