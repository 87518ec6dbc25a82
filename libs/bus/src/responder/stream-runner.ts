import { callContextStorage } from '../context/call-context.js';
import type { StreamHandler } from '../interfaces/handler.interface.js';
import { EventTypes } from '../protocol/envelope.js';
import { Extensions, MetaKeys } from '../protocol/extensions.js';
import type { BusRuntime } from '../runtime/bus-runtime.js';
import { drainProduced } from './drain-produced.js';
import { finalPayload } from './frame-values.js';
import type { Inflight } from './inflight.js';
import type { Registration } from './registration.js';
import type { ReplySender } from './reply-sender.js';
import type { StreamCallContext } from './stream-call-context.js';
import { StreamFrameWriter, type StreamWriterHost } from './stream-frame-writer.js';
import { untilAborted } from './until-aborted.js';

const RESPONDER_EXTENSIONS = [
  Extensions.NO_HANDLER,
  Extensions.DEADLINE,
  Extensions.CANCEL,
  Extensions.FLOW,
  Extensions.CHUNK,
  Extensions.TRACE,
];

/**
 * Runs a stream handler: the `started` frame (now, or when a `deferStarted` handler says), each delta through
 * the writer as flow-control credit allows, and the terminal frame, numbered without gaps.
 */
export class StreamRunner implements StreamWriterHost {
  readonly agentId: string;

  constructor(
    private readonly rt: BusRuntime,
    readonly replies: ReplySender,
    /** Where the caller sends credit and cancellation for a call. */
    private readonly controlSubjectOf: (call: Inflight) => string,
  ) {
    this.agentId = rt.agentId;
  }

  /** The `started` frame's metadata: made when it is sent, so a stream that waits does not keep it. */
  startedMetadata(call: Inflight): Record<string, unknown> | undefined {
    if (!call.ext.has(Extensions.CANCEL) && !call.ext.has(Extensions.FLOW)) return undefined;
    const meta: Record<string, unknown> = {
      [MetaKeys.EXT]: RESPONDER_EXTENSIONS.filter((e) => call.ext.has(e)).join(','),
      [MetaKeys.CONTROL]: this.controlSubjectOf(call),
    };
    // With `cancel` this call gets liveness probes; saying how often lets the caller notice when they stop.
    if (call.ext.has(Extensions.CANCEL)) meta[MetaKeys.LIVENESS] = this.rt.options.livenessInterval;
    return meta;
  }

  async run(reg: Registration, call: Inflight, ctx: StreamCallContext): Promise<void> {
    // The lazy abort source: an AbortSignal is made only if the handler reads writer.signal / ctx.signal.
    const signal = call.abort;
    const writer = new StreamFrameWriter(this, call, reg.target);
    ctx.writer = writer;
    try {
      if (!reg.deferStarted) await writer.sendStarted();
      let result: unknown;
      if (!reg.retry) {
        // attempt() inlined: an open stream would keep one more suspended async function and its promises.
        const produced = await untilAborted(callContextStorage.run(ctx, reg.handler as StreamHandler, call.request.payload, ctx), signal);
        result = await untilAborted(callContextStorage.run(ctx, drainProduced, produced, writer, signal), signal);
      } else {
        // Only the started frame may have gone out before a retry: nothing the caller saw is repeated.
        const outcome = await reg.retry.run(() => this.attempt(reg, call, ctx), {
          signal: signal.signal,
          stop: () => signal.aborted || writer.sent > 1,
        });
        if (!outcome.ok) throw outcome.cause;
        result = outcome.value;
      }
      if (!writer.hasStarted) await writer.sendStarted();
      this.replies.terminal(call, EventTypes.FINAL, finalPayload(result), writer.sent);
    } catch (err) {
      this.replies.handlerFailed(reg.target, call, err, writer.sent);
    }
  }

  private async attempt(reg: Registration, call: Inflight, ctx: StreamCallContext): Promise<unknown> {
    const signal = call.abort;
    const produced = await untilAborted(callContextStorage.run(ctx, reg.handler as StreamHandler, call.request.payload, ctx), signal);
    return untilAborted(callContextStorage.run(ctx, drainProduced, produced, ctx.writer, signal), signal);
  }
}
