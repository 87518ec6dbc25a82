import { BusError } from '../errors/bus-error.js';
import { ErrorCodes } from '../errors/error-codes.js';

/**
 * Room kept under a store's record limit for what a frame adds around the record's content (envelope fields,
 * headers): a record that fits leaves every frame made from it within the same limit.
 */
export const RECORD_HEADROOM = 8 * 1024;

/** The INVALID_REQUEST for a record the store cannot hold, naming its size and the limit. */
export function tooLarge(taskId: string, bytes: number, limit: number, what: string): BusError {
  return new BusError(
    ErrorCodes.INVALID_REQUEST,
    `task ${taskId}: the record would be ${bytes} bytes, over the store's limit of ${limit} bytes (${what})`,
    { retryable: false },
  );
}
