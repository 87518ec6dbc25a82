import type { HandlerOptions, SubscribeOptions } from '../interfaces/call-options.interface.js';

export type BusHandlerKind = 'invoke' | 'stream' | 'subscribe';

/** What @Invoke/@Stream/@Subscribe record on a method; BusServer reads it at bootstrap. */
export interface BusHandlerMetadata {
  kind: BusHandlerKind;
  /** Invoke/stream target, or event pattern for subscribers. */
  name: string;
  options: HandlerOptions & SubscribeOptions;
}
