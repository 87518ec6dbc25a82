import type { ErrorCode } from '@openagentio/nestjs';

/**
 * The base of the bridges' own errors: a name, a message and a code, the bus's (`ErrorCodes`) or, for A2A's
 * JSON-RPC, that protocol's number. It is not a BusError on purpose: these errors describe a local failure (a
 * configuration, an upstream's HTTP answer, a request body), and their text may name hosts or paths. Where one
 * is caught decides what a caller sees; passed to the bus as is, it counts as unexpected and its text stays in
 * the process.
 */
export class BridgeError<C extends ErrorCode | number = ErrorCode> extends Error {
  constructor(
    readonly code: C,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'BridgeError';
  }
}
