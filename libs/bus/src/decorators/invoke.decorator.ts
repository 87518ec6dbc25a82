import type { HandlerOptions } from '../interfaces/call-options.interface.js';
import { assertName } from '../protocol/subjects.js';
import { BUS_HANDLER_METADATA } from '../constants.js';
import { handlerDecorator } from './handler-decorator.js';

/**
 * Serves invoke requests for `target` with this method; its return value (or resolved Promise) is the result.
 * Guards, interceptors, pipes and exception filters apply as on HTTP routes.
 *
 * @example
 * @Invoke('weather.lookup')
 * lookup(@Payload() q: WeatherQuery, @Session() s: SessionInfo) { return { city: q.city, temp: 21 }; }
 */
export function Invoke(target: string, options: HandlerOptions = {}): MethodDecorator {
  assertName(target, 'invoke target');
  return handlerDecorator(BUS_HANDLER_METADATA, 'invoke', target, options);
}
