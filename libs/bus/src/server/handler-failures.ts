import type { BusClient } from '../client/bus-client.js';
import { BusError } from '../errors/bus-error.js';
import { ErrorCodes } from '../errors/error-codes.js';

/**
 * Counts a handler failure in the bus's stats and logs an unexpected one: a handler cancelled by its caller has not
 * failed, one that timed out has; an error that is not a BusError is logged with its stack.
 */
export function countHandlerFailure(bus: BusClient, target: string, error: BusError, raw: unknown, aborted: boolean): void {
  if (aborted && error.code !== ErrorCodes.AGENT_TIMEOUT) return;
  bus.stats.handlerErrors++;
  if (error.code === ErrorCodes.AGENT_UNAVAILABLE && !(raw instanceof BusError)) {
    bus.logger.error(`handler for "${target}" failed: ${error.message}`, (raw as Error)?.stack);
  }
}
