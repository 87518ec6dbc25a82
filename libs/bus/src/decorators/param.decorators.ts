import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import { BusError } from '../errors/bus-error.js';
import { ErrorCodes } from '../errors/error-codes.js';
import { BusRpcContext } from '../ctx-host/bus-rpc-context.js';
import type { Envelope as AcpEnvelope } from '../protocol/envelope.js';

export { Payload, Ctx } from '@nestjs/microservices';

function busContext(ctx: ExecutionContext): BusRpcContext {
  const c = ctx.switchToRpc().getContext<unknown>();
  if (!(c instanceof BusRpcContext)) {
    throw new BusError(ErrorCodes.INVALID_REQUEST, 'bus parameter decorators work only on @Invoke/@Stream/@Subscribe handlers');
  }
  return c;
}

/** The acp/1.0 envelope type; the same name is the `@Envelope()` parameter decorator. */
export type Envelope<P = unknown> = AcpEnvelope<P>;

/** The inbound acp/1.0 envelope (request or event). */
export const Envelope = createParamDecorator((_: unknown, ctx: ExecutionContext) => busContext(ctx).getEnvelope());

/** The call's session fields (session_id, conversation_id, tenant_id, user_id, channel). */
export const Session = createParamDecorator((_: unknown, ctx: ExecutionContext) => busContext(ctx).getSession());

/** The AbortSignal of the call: aborted at the deadline, on caller cancellation, or when the caller is gone. */
export const Signal = createParamDecorator((_: unknown, ctx: ExecutionContext) => busContext(ctx).getSignal());

/** The StreamWriter of a @Stream handler. */
export const Writer = createParamDecorator((_: unknown, ctx: ExecutionContext) => {
  const w = busContext(ctx).getWriter();
  if (!w) throw new BusError(ErrorCodes.INVALID_REQUEST, '@Writer() is only available in @Stream handlers');
  return w;
});
