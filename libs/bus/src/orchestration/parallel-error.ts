import { BusError } from '../errors/bus-error.js';
import type { ErrorCode } from '../errors/error-codes.js';
import type { ParallelResult } from './parallel-options.js';

/**
 * A fan-out that failed: a branch failed in `all` mode, every branch failed in `first-success` mode, a quorum can no
 * longer be reached, or the whole fan-out timed out. A BusError (so it keeps its acp/1.0 shape when a handler lets it
 * escape), with every branch's outcome in `result` and, on the wire, each branch's name and status in `cause`.
 *
 * @example
 * try {
 *   await bus.parallel(branches, { mode: 'quorum', quorum: 2 });
 * } catch (err) {
 *   if (err instanceof ParallelError) console.log(err.result.branches.map((b) => `${b.name}: ${b.status}`));
 * }
 */
export class ParallelError<T = unknown> extends BusError {
  constructor(
    code: ErrorCode,
    message: string,
    readonly result: ParallelResult<T>,
    retryable: boolean,
  ) {
    super(code, message, {
      retryable,
      cause: {
        reason: 'parallel',
        mode: result.mode,
        branches: result.branches.map((b) => ({ name: b.name, status: b.status, ...(b.error ? { code: b.error.code } : {}) })),
      },
    });
    this.name = 'ParallelError';
  }
}
