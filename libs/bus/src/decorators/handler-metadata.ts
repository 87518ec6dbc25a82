import type { HandlerOptions, SubscribeOptions } from '../interfaces/call-options.interface.js';
import type { HandlerMetadata } from './handler-decorator.js';

export type BusHandlerKind = 'invoke' | 'stream' | 'subscribe';

/** What @Invoke/@Stream/@Subscribe record on a method; BusServer reads it at bootstrap. */
export type BusHandlerMetadata = HandlerMetadata<BusHandlerKind, HandlerOptions & SubscribeOptions>;
