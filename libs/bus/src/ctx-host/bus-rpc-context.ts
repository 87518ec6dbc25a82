import { BaseRpcContext } from '@nestjs/microservices';
import type { CallContext, SessionInfo, TraceInfo } from '../context/call-context.js';
import type { Envelope } from '../protocol/envelope.js';
import type { StreamWriter } from '../interfaces/stream-writer.interface.js';

/**
 * The RPC context of a bus handler: `@Ctx()` gives it, and guards/interceptors/filters reach it through
 * `context.switchToRpc().getContext<BusRpcContext>()`.
 */
export class BusRpcContext extends BaseRpcContext<[CallContext, StreamWriter | undefined]> {
  /** @internal What the handler method itself returned (before interceptors), for stream result handling. */
  rawResult?: unknown;

  constructor(call: CallContext, writer?: StreamWriter) {
    super([call, writer]);
  }

  get call(): CallContext {
    return this.args[0];
  }

  getEnvelope(): Envelope {
    return this.args[0].envelope;
  }

  getTarget(): string {
    return this.args[0].target;
  }

  getKind(): CallContext['kind'] {
    return this.args[0].kind;
  }

  getSignal(): AbortSignal {
    return this.args[0].signal;
  }

  getSession(): Readonly<SessionInfo> {
    return this.args[0].session;
  }

  getTrace(): Readonly<TraceInfo> {
    return this.args[0].trace;
  }

  getDeadline(): number | undefined {
    return this.args[0].deadline;
  }

  /** The stream writer; undefined for invoke handlers and subscribers. */
  getWriter(): StreamWriter | undefined {
    return this.args[1];
  }
}
