import type { BusError } from '../errors/bus-error.js';
import { ErrorCodes } from '../errors/error-codes.js';
import { toBusError } from '../errors/to-bus-error.js';
import type { BranchStatus } from './parallel-branch.js';

/** How a branch that threw `err` is reported: timed out, cancelled, or failed; with the error as a BusError. */
export function failedBranch(err: unknown): { status: BranchStatus; error: BusError } {
  const error = toBusError(err);
  if (error.code === ErrorCodes.AGENT_TIMEOUT) return { status: 'timed-out', error };
  if (error.name === 'AbortError' || isCancelled(error)) return { status: 'cancelled', error };
  return { status: 'error', error };
}

function isCancelled(err: BusError): boolean {
  return err.details?.reason === 'cancelled';
}
