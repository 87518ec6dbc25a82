import type { SubscribeOptions } from '../interfaces/call-options.interface.js';
import { assertPattern } from '../protocol/subjects.js';
import { BUS_HANDLER_METADATA } from '../constants.js';
import { handlerDecorator } from './handler-decorator.js';

/**
 * Receives events whose type matches `pattern` (`*` one token, `>` the rest). Fan-out by default; with
 * `{ queue }` one member of the group gets each event.
 *
 * @example
 * @Subscribe('demo.>')
 * log(@Payload() p: unknown, @Envelope() e: Envelope) { console.log(e.event_type, p); }
 */
export function Subscribe(pattern: string, options: SubscribeOptions = {}): MethodDecorator {
  assertPattern(pattern, 'event pattern');
  return handlerDecorator(BUS_HANDLER_METADATA, 'subscribe', pattern, options);
}
