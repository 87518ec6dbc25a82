import type { BusRuntime } from '../runtime/bus-runtime.js';
import { isThenable } from '../utils/is-thenable.js';
import { DirectCall, type DirectServer } from './direct-call.js';
import { callContextStorage } from '../context/call-context.js';
import { BusError } from '../errors/bus-error.js';
import { ErrorCodes } from '../errors/error-codes.js';
import { scheduledItems } from '../timers/deadline-wheel.js';
import type { DirectEndpoint } from '../transport/transport.interface.js';
import {
  concurrencyLimitError,
  countHandlerFailure,
  countsAsFailure,
  deadlinePassedError,
  handlerFailure,
} from '../errors/handler-failures.js';
import type { Registration } from '../responder/registration.js';
import type { InvokeHandler } from '../interfaces/handler.interface.js';

/**
 * The serving half of in-process direct calls (see DirectCall): what the responder's onRequest and runInvoke do
 * for a request message, done for a call object. The same checks (handler still registered, concurrency limit,
 * deadline, the handler's own timeout), the same context, the same outcomes and counts; no envelope, no message.
 */
export class DirectInvokeServer implements DirectServer {
  /** Direct calls being served (they sit in the deadline wheel while they run, see stop()). */
  private served = 0;

  constructor(private readonly bus: BusRuntime) {}

  get inflightCount(): number {
    return this.served;
  }

  /** The endpoint a memory transport hands direct calls for `reg` to. */
  endpointFor(reg: Registration): DirectEndpoint<DirectCall> {
    return { serve: (call) => this.serve(reg, call) };
  }

  /** Ends every call this server is running, as a responder shutting down ends its requests. */
  stop(reason: BusError): void {
    if (this.served === 0) return;
    for (const item of scheduledItems()) {
      if (item instanceof DirectCall && item.server === this) {
        item.abort(reason);
        this.failed(item, reason);
      }
    }
  }

  /** The caller ended the call first (deadline, cancel, gone): abort the handler and free its slot now. */
  abandon(call: DirectCall, reason: BusError): void {
    const reg = call.registration as Registration | undefined;
    if (!reg) return;
    if (reason.code === ErrorCodes.AGENT_TIMEOUT) countHandlerFailure(this.bus.stats, this.bus.logger, reg.target, reason, reason, true);
    else if (reason.details?.reason === 'cancelled') this.bus.stats.cancelledByCaller++;
    call.abort(reason);
    this.release(call, reason, countsAsFailure(reason, true));
  }

  private serve(reg: Registration, call: DirectCall): void {
    if (call.settled) return;
    const from = this.bus.agentId;
    if (!reg.live) {
      call.failFromServer(new BusError(ErrorCodes.NO_HANDLER, `no handler for target "${reg.target}"`), from);
      return;
    }
    if (reg.active >= reg.concurrency) {
      const error = concurrencyLimitError(reg.target, reg.concurrency);
      reg.counters?.record(0, error);
      call.failFromServer(error, from);
      this.bus.metrics?.recordHandled('invoke', reg.target, ErrorCodes.BACKPRESSURE_DROP, 0);
      this.bus.audit?.served('invoke', reg.target, call.envelope, error, 0);
      return;
    }
    const now = call.arrivalTime();
    if (call.deadline <= now) {
      const error = deadlinePassedError();
      reg.counters?.record(0, error);
      call.failFromServer(error, from);
      this.bus.metrics?.recordHandled('invoke', reg.target, ErrorCodes.AGENT_TIMEOUT, 0);
      this.bus.audit?.served('invoke', reg.target, call.envelope, error, 0);
      return;
    }
    if (reg.timeout !== undefined && now + reg.timeout < call.deadline) call.tightenDeadline(now + reg.timeout);
    reg.active++;
    this.bus.stats.requestsServed++;
    this.served++;
    call.server = this;
    call.registration = reg;
    if (reg.counters?.sampleNext) call.servedAt = performance.now();
    let result: unknown;
    try {
      result = callContextStorage.run(call, reg.handler as InvokeHandler, call.payload, call);
    } catch (err) {
      this.failed(call, err);
      return;
    }
    if (isThenable(result)) {
      result.then(
        (value) => this.done(call, value),
        (err: unknown) => this.failed(call, err),
      );
    } else {
      this.done(call, result);
    }
  }

  private done(call: DirectCall, value: unknown): void {
    if (!this.release(call)) return;
    call.complete(value, this.bus.agentId);
  }

  /** As the responder's handlerFailed: the error the handler ended with (its abort reason if aborted) goes back. */
  private failed(call: DirectCall, err: unknown): void {
    const reg = call.registration as Registration | undefined;
    if (!reg) return;
    const { error, errorId } = handlerFailure(err, call.aborted, call.aborted ? call.reason : undefined, this.bus.options.exposeErrors);
    countHandlerFailure(this.bus.stats, this.bus.logger, reg.target, error, err, call.aborted, errorId);
    this.release(call, error, countsAsFailure(error, call.aborted));
    call.failFromServer(error, this.bus.agentId);
  }

  /** Frees the handler's slot; `failed`: the error counts against the handler (not a caller's cancellation). */
  private release(call: DirectCall, error?: BusError, failed = false): boolean {
    const reg = call.registration as Registration | undefined;
    if (!reg) return false;
    call.registration = undefined;
    this.served--;
    reg.active--;
    if (reg.counters) reg.counters.record(call.servedAt > 0 ? performance.now() - call.servedAt : undefined, failed ? error : undefined);
    const metrics = this.bus.metrics;
    if (metrics?.active) metrics.recordHandled('invoke', reg.target, error ? error.code : 'ok', Date.now() - call.startedAt);
    const audit = this.bus.audit;
    if (audit) audit.served('invoke', reg.target, call.envelope, error, Date.now() - call.startedAt);
    return true;
  }
}
