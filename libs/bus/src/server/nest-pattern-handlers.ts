import { Logger } from '@nestjs/common';
import type { MessageHandler, ReadPacket } from '@nestjs/microservices';
import { isObservable } from 'rxjs';
import type { BusClient } from '../bus/bus-client.js';
import { currentCallContext } from '../context/call-context.js';
import { BusRpcContext } from '../ctx-host/bus-rpc-context.js';
import type { BusSubscription } from '../interfaces/bus-subscription.interface.js';
import type { HandlerContext } from '../interfaces/handler.interface.js';
import { observableToAsyncIterable } from '../utils/observable-iterable.js';
import { patternToTarget } from '../utils/pattern-target.js';

/** What serving Nest's own pattern handlers needs from the transport strategy (Nest's `Server` API). */
export interface PatternServer {
  getHandlers(): Map<string, MessageHandler>;
  handleEvent(pattern: string, packet: ReadPacket, context: BusRpcContext): Promise<unknown>;
}

/** A pattern handler served on the bus. */
export interface ServedPattern {
  readonly kind: 'message' | 'event';
  readonly pattern: string;
  readonly target: string;
}

/**
 * Serves the handlers Nest registered on the strategy from `@MessagePattern` and `@EventPattern` (through
 * `addHandler`, with Nest's full pipeline already wrapped around them), so an app written for Nest's built-in
 * transports runs on the bus unchanged:
 * - a message pattern is a bus stream target: `bus.stream` receives each value of an Observable reply as a delta,
 *   and `bus.invoke` (or `lastValueFrom(client.send())`) the last value as the result;
 * - an event pattern is a bus subscription: every `@EventPattern` handler of the pattern runs for each event.
 * Patterns map to bus names by `patternToTarget`. A pattern with no bus name fails the bootstrap.
 */
export function serveNestPatterns(
  server: PatternServer,
  bus: BusClient,
  logger: Logger,
): { registrations: BusSubscription[]; served: ServedPattern[] } {
  const registrations: BusSubscription[] = [];
  const served: ServedPattern[] = [];
  for (const [pattern, handler] of server.getHandlers()) {
    const queue = typeof handler.extras?.queue === 'string' ? handler.extras.queue : undefined;
    if (handler.isEventHandler) {
      const target = patternToTarget(pattern, 'event');
      registrations.push(
        bus.subscribe(
          target,
          async (data) => {
            const ctx = currentCallContext();
            if (!ctx) return;
            await server.handleEvent(pattern, { pattern, data }, new BusRpcContext(ctx));
          },
          { queue },
        ),
      );
      served.push({ kind: 'event', pattern, target });
    } else {
      const target = patternToTarget(pattern, 'message');
      registrations.push(bus.handleStream(target, (payload, ctx) => replyStream(handler, payload, ctx), { queue }));
      served.push({ kind: 'message', pattern, target });
    }
  }
  if (served.length > 0) logger.log(`serving ${served.length} @MessagePattern/@EventPattern handler(s) on the bus`);
  return { registrations, served };
}

// Nest's proxy answers a value, a Promise or an Observable (its exception filters turn errors into an erroring
// Observable). Each value goes out as its own delta `{data: value}` (never reinterpreted as a delta string), and
// the last value is the call's result.
async function replyStream(handler: MessageHandler, payload: unknown, ctx: HandlerContext): Promise<unknown> {
  const writer = ctx.writer!;
  const result = await handler(payload, new BusRpcContext(ctx, writer));
  if (!isObservable(result)) {
    await writer.data(result);
    return result;
  }
  let last: unknown;
  for await (const value of observableToAsyncIterable(result)) {
    await writer.data(value);
    last = value;
  }
  return last;
}
