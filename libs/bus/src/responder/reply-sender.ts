import { BusError } from '../errors/bus-error.js';
import { ErrorCodes } from '../errors/error-codes.js';
import { countHandlerFailure, handlerFailure } from '../errors/handler-failures.js';
import { createReply } from '../protocol/envelope-factory.js';
import { EventTypes, SCHEMA_VERSION, SPEC_VERSION, type Envelope, type ErrorPayload } from '../protocol/envelope.js';
import { Extensions, MetaKeys, parseExtensions } from '../protocol/extensions.js';
import { isPublishableSubject } from '../protocol/subjects.js';
import { newEventId, nowRfc3339 } from '../protocol/ids.js';
import { replyEncoder, type ReplyEncoder } from '../protocol/reply-encoder.js';
import type { BusRuntime } from '../runtime/bus-runtime.js';
import type { TransportMessage } from '../transport/transport.interface.js';
import type { Inflight } from './inflight.js';

const CHUNK_AND_CANCEL = `${Extensions.CHUNK},${Extensions.CANCEL}`;

/** How much of an error message survives when the whole error frame is too large to send. */
const MAX_ERROR_MESSAGE = 1024;

/** The transport refused a message for its size (over max_payload without chunking, or over maxMessageSize). */
function isTooLarge(err: unknown): boolean {
  return err instanceof BusError && err.code === ErrorCodes.INVALID_REQUEST && typeof err.details?.size === 'number';
}

/** Writes a responder's reply frames: stream frames, the terminal frame, error frames and INVALID_REQUEST answers. */
export class ReplySender {
  /** Caller inboxes already told this responder's extensions. */
  private readonly toldCallers = new Set<string>();
  private lastTold?: string;

  constructor(private readonly rt: BusRuntime) {}

  /**
   * Publishes a non-terminal frame of a stream; it may share a socket write with the rest of this turn. `started`
   * too: sent at once, it went out alone, and the caller woke for it and again for the first delta a moment later.
   */
  frame(call: Inflight, eventType: string, payload: unknown, seq: number, metadata?: Record<string, unknown>): void {
    const frame = createReply(call.request, eventType, payload, { from: this.rt.agentId, seq, metadata });
    this.rt.transport.publish(call.replyTo, frame, {
      chunk: call.ext.has(Extensions.CHUNK),
      defer: true,
      encode: this.encoderOf(call),
    });
    this.rt.stats.framesSent++;
  }

  /** Sends the terminal frame; if that publish fails, an error frame takes the same seq so no hole is left. */
  terminal(call: Inflight, eventType: string, payload: unknown, seq: number): void {
    const metadata = seq === 0 ? this.extensionsFor(call) : undefined;
    const frame = createReply(call.request, eventType, payload, { from: this.rt.agentId, seq, isFinal: true, metadata });
    try {
      this.rt.transport.publish(call.replyTo, frame, { chunk: call.ext.has(Extensions.CHUNK), encode: this.encoderOf(call) });
      this.rt.stats.framesSent++;
      return;
    } catch (err) {
      const cause =
        err instanceof BusError ? err : new BusError(ErrorCodes.CODEC_FAILURE, `reply could not be encoded: ${(err as Error).message}`);
      if (eventType === EventTypes.ERROR && err instanceof BusError && err.code === ErrorCodes.TRANSPORT_FAILURE) {
        this.rt.logger.warn(`could not send error reply for ${call.request.event_id}: ${cause.message}`);
        return;
      }
      // An error too large to send whole is still that error, cut short; any other reply becomes the failure.
      if (eventType === EventTypes.ERROR && isTooLarge(err)) {
        this.error(call.request, call.replyTo, BusError.fromPayload(payload), seq);
        return;
      }
      this.error(call.request, call.replyTo, cause, seq);
    }
  }

  /** Ends a call whose handler failed: the error (the abort reason when it was aborted) as the terminal frame. */
  handlerFailed(target: string, call: Inflight, err: unknown, seq: number): void {
    const signal = call.abort;
    const { error, errorId } = handlerFailure(
      err,
      signal.aborted,
      signal.aborted ? signal.reason : undefined,
      this.rt.options.exposeErrors,
    );
    call.error = error;
    countHandlerFailure(this.rt.stats, this.rt.logger, target, error, err, signal.aborted, errorId);
    this.terminal(call, EventTypes.ERROR, error.toPayload(), seq);
  }

  /** An error frame answering `request`; `uncorrelated`: the request could not be read, so no correlation_id. */
  error(request: Envelope, replyTo: string, error: BusError, seq: number, uncorrelated = false): void {
    // Chunked only for a caller that negotiated chunking: an upstream peer must never get a chunk stub.
    const chunk = parseExtensions(request.metadata?.[MetaKeys.EXT]).has(Extensions.CHUNK);
    const payload = error.toPayload();
    const frameOf = (p: ErrorPayload): Envelope => {
      const f = createReply(request, EventTypes.ERROR, p, { from: this.rt.agentId, seq, isFinal: true });
      if (uncorrelated) delete f.correlation_id;
      return f;
    };
    try {
      this.rt.transport.publish(replyTo, frameOf(payload), { chunk });
      return;
    } catch (err) {
      if (!isTooLarge(err)) {
        this.rt.logger.warn(`could not send error reply: ${(err as Error).message}`);
        return;
      }
    }
    // Too large for this caller (a long message or cause): the same code, its message cut short, so the caller
    // still gets an answer rather than waiting for its deadline.
    const short: ErrorPayload = {
      code: payload.code,
      message: payload.message.length > MAX_ERROR_MESSAGE ? `${payload.message.slice(0, MAX_ERROR_MESSAGE)}… (truncated)` : payload.message,
      retryable: payload.retryable,
      cause: { truncated: true },
    };
    try {
      this.rt.transport.publish(replyTo, frameOf(short), { chunk });
    } catch (err) {
      this.rt.logger.warn(`could not send error reply: ${(err as Error).message}`);
    }
  }

  /** Bad input on a request subject: count it, log it, answer INVALID_REQUEST where there is a reply subject. */
  invalid(msg: TransportMessage, error: BusError, env?: Envelope): void {
    this.rt.stats.invalidMessages++;
    this.rt.invalidLog.warn(`invalid message on ${msg.subject}: ${error.message}`);
    // Only a subject that is safe to publish to: a hostile reply_to must not reach the connection.
    const replyTo = isPublishableSubject(env?.reply_to) ? env.reply_to : isPublishableSubject(msg.reply) ? msg.reply : undefined;
    if (!replyTo) return;
    // An undecodable body has no event_id to correlate with: the error frame stands on a placeholder request, has
    // no correlation_id, and reaches the caller through its reply subject, which is how callers match replies.
    const request: Envelope = env ?? {
      spec_version: SPEC_VERSION,
      schema_version: SCHEMA_VERSION,
      event_id: newEventId(),
      event_type: EventTypes.REQUEST,
      occurred_at: nowRfc3339(),
    };
    const code = error.code === ErrorCodes.CODEC_FAILURE ? ErrorCodes.INVALID_REQUEST : error.code;
    this.error(request, replyTo, new BusError(code, error.message, { cause: error.details }), 0, env === undefined);
  }

  /**
   * An invoke's reply names the extensions this responder speaks (`acp.ext`) the first time it answers a caller
   * that advertised them: that is how a caller learns it may send this target chunked requests, and (`acp.liveness`)
   * that the target's responders probe their invokes. Once per caller
   * inbox, so replies stay as small as before; a stream's `started` frame says it anyway.
   */
  private extensionsFor(call: Inflight): Record<string, unknown> | undefined {
    if (!call.ext.has(Extensions.CHUNK)) return undefined;
    const replyTo = call.replyTo;
    // The common case, the same caller again: no string made per reply.
    const last = this.lastTold;
    if (last !== undefined && replyTo.length > last.length && replyTo.charCodeAt(last.length) === 46 && replyTo.startsWith(last)) {
      return undefined;
    }
    const inbox = replyTo.slice(0, replyTo.lastIndexOf('.'));
    this.lastTold = inbox;
    if (this.toldCallers.has(inbox)) return undefined;
    if (this.toldCallers.size >= 4096) this.toldCallers.clear();
    this.toldCallers.add(inbox);
    if (!call.ext.has(Extensions.CANCEL)) return { [MetaKeys.EXT]: Extensions.CHUNK };
    // With `cancel`, how often this responder probes its invokes: the caller then watches its next invokes of the
    // target from their start, not only from the first probe (so a responder that dies early is noticed too).
    return { [MetaKeys.EXT]: CHUNK_AND_CANCEL, [MetaKeys.LIVENESS]: this.rt.options.livenessInterval };
  }

  private encoderOf(call: Inflight): ReplyEncoder {
    return (call.encode ??= replyEncoder(call.request, this.rt.agentId));
  }
}
