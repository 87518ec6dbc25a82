import type { CallContext } from '../context/call-context.js';
import type { Envelope } from '../protocol/envelope.js';
import type { StreamWriter } from './stream-writer.interface.js';

/** What a programmatic handler receives besides the payload. */
export interface HandlerContext extends CallContext {
  /** Present for stream handlers. */
  readonly writer?: StreamWriter;
}

/** Serves an invoke target: the return value is the result of the final frame, a throw an error frame. */
export type InvokeHandler<P = any, R = unknown> = (payload: P, ctx: HandlerContext) => R | Promise<R>;

/** Serves a stream target: yield/return values (async iterable or Observable) or write through `ctx.writer`. */
export type StreamHandler<P = any> = (payload: P, ctx: HandlerContext & { writer: StreamWriter }) => unknown;

/** Receives events of a subscription. */
export type EventHandler<P = unknown> = (payload: P, envelope: Envelope) => unknown;
