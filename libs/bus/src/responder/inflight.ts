import type { BusError } from '../errors/bus-error.js';
import type { Envelope } from '../protocol/envelope.js';
import type { ReplyEncoder } from '../protocol/reply-encoder.js';
import type { LazyAbort } from '../utils/lazy-abort.js';

/** One request being served on the message path. */
export interface Inflight {
  readonly request: Envelope;
  readonly replyTo: string;
  /** The extensions the caller advertised. */
  readonly ext: ReadonlySet<string>;
  readonly abort: LazyAbort;
  readonly startedAt: number;
  /** When the caller was last heard from (control frames), for the liveness check. */
  lastSeen: number;
  /** Frames the caller still accepts (Infinity without flow control). */
  credit: number;
  creditWaiter?: () => void;
  /** Encodes this call's reply frames (made on first use). */
  encode?: ReplyEncoder;
  /** The error the handler ended with, for its span and metrics. */
  error?: BusError;
}
