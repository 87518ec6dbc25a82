import type { HandlerOptions } from '../interfaces/call-options.interface.js';
import { assertName } from '../protocol/subjects.js';
import { BUS_HANDLER_METADATA } from '../constants.js';
import { handlerDecorator } from './handler-decorator.js';

/**
 * Serves stream requests for `target`. Return an async iterable (each item a delta, the return value the
 * final result), an Observable (each value a delta, the last value the final result), or write through
 * `@Writer()` and return the final result. A `started` frame goes out first; a terminal frame always follows.
 *
 * @example
 * @Stream('writer')
 * async *write(@Payload() p: { topic: string }) {
 *   for (const word of ['NATS', 'is', 'fast']) yield word + ' ';
 *   return 'NATS is fast';
 * }
 */
export function Stream(target: string, options: HandlerOptions = {}): MethodDecorator {
  assertName(target, 'stream target');
  return handlerDecorator(BUS_HANDLER_METADATA, 'stream', target, options);
}
