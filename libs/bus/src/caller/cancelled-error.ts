import { BusError } from '../errors/bus-error.js';
import { ErrorCodes } from '../errors/error-codes.js';
import { CallAbortedError } from '../errors/call-aborted-error.js';

/**
 * The error a call ends with when its caller aborts it: a timeout reason (AbortSignal.timeout, a parent's
 * deadline) is AGENT_TIMEOUT, a BusError reason is kept, anything else is a CallAbortedError (name 'AbortError').
 */
export function cancelledError(reason: unknown, what: string): BusError {
  if (reason instanceof BusError) return reason;
  if (reason instanceof Error && reason.name === 'TimeoutError') {
    return new BusError(ErrorCodes.AGENT_TIMEOUT, `${what} timed out: ${reason.message}`);
  }
  const detail = reason instanceof Error ? reason.message : reason !== undefined ? String(reason) : 'aborted';
  return new CallAbortedError(`${what} was cancelled: ${detail}`, reason);
}
