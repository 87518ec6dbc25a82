import { callContextStorage, type CallContext } from '../context/call-context.js';
import type { HandlerContext, StreamHandler } from '../interfaces/handler.interface.js';
import type { StreamWriter } from '../interfaces/stream-writer.interface.js';
import { EventTypes } from '../protocol/envelope.js';
import { Extensions, MetaKeys } from '../protocol/extensions.js';
import type { BusRuntime } from '../runtime/bus-runtime.js';
import { drainProduced } from './drain-produced.js';
import { waitForCredit } from './flow-credit.js';
import { deltaPayload, finalPayload } from './frame-values.js';
import type { Inflight } from './inflight.js';
import type { Registration } from './registration.js';
import type { ReplySender } from './reply-sender.js';
import { untilAborted } from './until-aborted.js';

const RESOLVED: Promise<void> = Promise.resolve();
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
export class StreamRunner {
  constructor(
    private readonly rt: BusRuntime,
    private readonly replies: ReplySender,
    /** Where the caller sends credit and cancellation for a call. */
    private readonly controlSubjectOf: (call: Inflight) => string,
  ) {}

  async run(reg: Registration, call: Inflight, ctx: CallContext): Promise<void> {
    let seq = 0;
    // The lazy abort source: an AbortSignal is made only if the handler reads writer.signal / ctx.signal.
    const signal = call.abort;
    const useExt = call.ext.has(Extensions.CANCEL) || call.ext.has(Extensions.FLOW);
    const publishFrame = (eventType: string, payload: unknown, metadata?: Record<string, unknown>): void => {
      this.replies.frame(call, eventType, payload, seq, metadata);
      seq++;
      call.credit--;
    };
    // Sends that had to wait for credit, in call order; while one waits, later ones queue behind it.
    let waiting: Promise<void> | undefined;
    const send = (eventType: string, payload: unknown, metadata?: Record<string, unknown>): Promise<void> => {
      if (signal.aborted) return Promise.reject(signal.reason);
      if (!waiting && call.credit > 0) {
        // The common case costs no promise: a handler awaiting every delta would otherwise make two per frame.
        try {
          publishFrame(eventType, payload, metadata);
        } catch (err) {
          return Promise.reject(err);
        }
        return RESOLVED;
      }
      const sent = (waiting ?? RESOLVED).then(async () => {
        while (call.credit <= 0) {
          if (signal.aborted) throw signal.reason;
          await waitForCredit(call);
        }
        if (signal.aborted) throw signal.reason;
        publishFrame(eventType, payload, metadata);
      });
      waiting = sent;
      const clear = () => {
        if (waiting === sent) waiting = undefined;
      };
      sent.then(clear, clear);
      return sent;
    };
    let startedSent = false;
    const startedMeta: Record<string, unknown> | undefined = useExt
      ? { [MetaKeys.EXT]: RESPONDER_EXTENSIONS.filter((e) => call.ext.has(e)).join(','), [MetaKeys.CONTROL]: this.controlSubjectOf(call) }
      : undefined;
    // With `cancel` this call gets liveness probes; saying how often lets the caller notice when they stop.
    if (startedMeta && call.ext.has(Extensions.CANCEL)) startedMeta[MetaKeys.LIVENESS] = this.rt.options.livenessInterval;
    const sendStarted = (meta?: Record<string, unknown>): Promise<void> => {
      if (startedSent) return RESOLVED;
      startedSent = true;
      return send(EventTypes.STARTED, { meta: { agent: this.rt.agentId, target: reg.target, ...meta } }, startedMeta);
    };
    const writer: StreamWriter = {
      delta: (v) =>
        startedSent ? send(EventTypes.DELTA, deltaPayload(v)) : sendStarted().then(() => send(EventTypes.DELTA, deltaPayload(v))),
      data: (v) => (startedSent ? send(EventTypes.DELTA, { data: v }) : sendStarted().then(() => send(EventTypes.DELTA, { data: v }))),
      started: (meta) => sendStarted(meta),
      get sent() {
        return seq;
      },
      get signal() {
        return call.abort.signal;
      },
    };
    try {
      if (!reg.deferStarted) await sendStarted();
      // Not a spread: that would read the lazy `signal` getter and create the AbortController for every stream.
      const hctx: HandlerContext & { writer: StreamWriter } = {
        envelope: ctx.envelope,
        target: ctx.target,
        kind: ctx.kind,
        deadline: ctx.deadline,
        session: ctx.session,
        trace: ctx.trace,
        get signal() {
          return call.abort.signal;
        },
        writer,
      };
      const attempt = async (): Promise<unknown> => {
        const produced = await untilAborted(
          callContextStorage.run(ctx, () => (reg.handler as StreamHandler)(call.request.payload, hctx)),
          signal,
        );
        return untilAborted(
          callContextStorage.run(ctx, () => drainProduced(produced, writer, signal)),
          signal,
        );
      };
      let result: unknown;
      if (!reg.retry) result = await attempt();
      else {
        // Only the started frame may have gone out before a retry: nothing the caller saw is repeated.
        const outcome = await reg.retry.run(attempt, { signal: signal.signal, stop: () => signal.aborted || seq > 1 });
        if (!outcome.ok) throw outcome.cause;
        result = outcome.value;
      }
      if (!startedSent) await sendStarted();
      this.replies.terminal(call, EventTypes.FINAL, finalPayload(result), seq);
    } catch (err) {
      this.replies.handlerFailed(reg.target, call, err, seq);
    }
  }
}
