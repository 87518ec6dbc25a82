import { Injectable } from '@nestjs/common';
import { currentCallContext, type CallContext, type TraceInfo } from '../context/call-context.js';
import type { Envelope } from '../protocol/envelope.js';

/**
 * The session of the call being served, readable from any service deep in the call stack without threading
 * parameters (AsyncLocalStorage underneath, like nestjs-cls). Outside a handler every field is undefined.
 *
 * @example
 * @Injectable()
 * class AuditService {
 *   constructor(private readonly session: BusSession) {}
 *   record(what: string) { console.log(this.session.sessionId, this.session.userId, what); }
 * }
 */
@Injectable()
export class BusSession {
  /** The whole call context, or undefined outside a bus handler. */
  get context(): CallContext | undefined {
    return currentCallContext();
  }

  get active(): boolean {
    return currentCallContext() !== undefined;
  }

  get sessionId(): string | undefined {
    return currentCallContext()?.session.session_id;
  }

  get conversationId(): string | undefined {
    return currentCallContext()?.session.conversation_id;
  }

  get tenantId(): string | undefined {
    return currentCallContext()?.session.tenant_id;
  }

  get userId(): string | undefined {
    return currentCallContext()?.session.user_id;
  }

  get channel(): string | undefined {
    return currentCallContext()?.session.channel;
  }

  /** Absolute deadline of the call (epoch ms), if it has one. */
  get deadline(): number | undefined {
    return currentCallContext()?.deadline;
  }

  /** Milliseconds left before the deadline (Infinity without one). */
  get remaining(): number {
    const d = currentCallContext()?.deadline;
    return d === undefined ? Infinity : Math.max(0, d - Date.now());
  }

  get signal(): AbortSignal | undefined {
    return currentCallContext()?.signal;
  }

  get trace(): Readonly<TraceInfo> | undefined {
    return currentCallContext()?.trace;
  }

  get traceparent(): string | undefined {
    return currentCallContext()?.trace.traceparent;
  }

  get envelope(): Envelope | undefined {
    return currentCallContext()?.envelope;
  }

  /** The invoke/stream target or event pattern being served. */
  get target(): string | undefined {
    return currentCallContext()?.target;
  }
}
