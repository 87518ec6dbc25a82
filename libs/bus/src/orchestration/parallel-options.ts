import type { CallOptions } from '../interfaces/call-options.interface.js';
import type { Envelope } from '../protocol/envelope.js';
import type { BranchOutcome } from './parallel-branch.js';

/**
 * When a fan-out is decided:
 * - `all`: every branch succeeded (values in branch order), or the first failure fails it at once;
 * - `all-settled`: every branch ended, whatever its outcome; never fails because of a branch;
 * - `first-success`: the first branch to succeed; fails when every branch failed;
 * - `quorum`: the first `quorum` branches to succeed; fails as soon as too few can still succeed.
 */
export type ParallelMode = 'all' | 'all-settled' | 'first-success' | 'quorum';

/** Options of `bus.parallel` / `bus.parallelStream`. Session, trace and metadata fields apply to every branch. */
export interface ParallelOptions extends Omit<CallOptions, 'timeout'> {
  /** Default `all`. */
  mode?: ParallelMode;
  /** Successes needed in `quorum` mode (1 … number of branches). */
  quorum?: number;
  /** The whole fan-out (ms): no branch runs past it. Inside a handler, never more than the time left. */
  timeout?: number;
  /** Each branch (ms), unless the branch's own `options.timeout` says otherwise. */
  branchTimeout?: number;
  /**
   * Cancel the branches still running once the outcome is decided, through the bus's own cancellation (their
   * handlers' AbortSignals fire). Default true. With false they run on; `result.settled` says how they ended.
   */
  cancelLosers?: boolean;
}

/** What a decided fan-out resolves with. */
export interface ParallelResult<T = unknown> {
  mode: ParallelMode;
  /**
   * The branches whose values make the outcome: every branch (`all`), the successful ones in branch order
   * (`all-settled`), the winner (`first-success`), the first `quorum` to succeed in the order they did (`quorum`).
   */
  winners: string[];
  /** The winners' values, in the same order. */
  values: T[];
  /** Every branch's outcome, in branch order. */
  branches: BranchOutcome<T>[];
  /** From the start until the outcome was decided. */
  durationMs: number;
  /** Every branch's final outcome, once all have ended (at the decision, unless `cancelLosers` is false). */
  readonly settled: Promise<BranchOutcome<T>[]>;
}

/** What `bus.parallelStream` yields: each branch's start, its stream deltas as they arrive, and its end. */
export type ParallelEvent<T = unknown> =
  | { type: 'start'; branch: string; index: number; target: string; kind: 'invoke' | 'stream'; at: number }
  | { type: 'delta'; branch: string; index: number; delta?: string; data?: unknown; frame: Envelope }
  | { type: 'end'; branch: string; index: number; outcome: BranchOutcome<T> };
