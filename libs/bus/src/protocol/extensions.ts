/**
 * Metadata keys and names of the negotiated protocol extensions (docs/PROTOCOL-EXTENSIONS.md).
 * Keys beginning `acp.` are runtime-internal: they never leak into reply metadata and upstream peers ignore them.
 */
export const MetaKeys = {
  /** Request: comma-separated extension names the caller understands. Reply: the ones the responder uses. */
  EXT: 'acp.ext',
  /** Request: absolute deadline, epoch milliseconds. */
  DEADLINE: 'acp.deadline',
  /** Stream reply (started frame): the responder's control subject for credits and cancellation. */
  CONTROL: 'acp.ctl',
  /** Request: initial flow-control window the consumer grants (frames). */
  WINDOW: 'acp.window',
  /** Control frames: number of frames granted. */
  CREDIT: 'acp.credit',
  /** Request: W3C tracestate. */
  TRACESTATE: 'acp.tracestate',
  /** Request: W3C baggage. */
  BAGGAGE: 'acp.baggage',
  /** Retry attempt number of this request (1 = first try). */
  ATTEMPT: 'acp.attempt',
  /** Stream reply (started frame): how often (ms) the responder sends liveness probes to the caller. */
  LIVENESS: 'acp.liveness',
} as const;

export const Extensions = {
  NO_HANDLER: 'nohandler',
  DEADLINE: 'deadline',
  CANCEL: 'cancel',
  FLOW: 'flow',
  CHUNK: 'chunk',
  TRACE: 'trace',
} as const;

/** What this runtime advertises on every request it makes. */
export const ADVERTISED_EXTENSIONS = [
  Extensions.NO_HANDLER,
  Extensions.DEADLINE,
  Extensions.CANCEL,
  Extensions.FLOW,
  Extensions.CHUNK,
  Extensions.TRACE,
].join(',');

/** Control event types, sent only to peers that advertised the matching extension. */
export const ControlEventTypes = {
  CANCEL: 'acp.control.cancel',
  CREDIT: 'acp.control.credit',
  PING: 'acp.control.ping',
  PONG: 'acp.control.pong',
} as const;

// Requests from one kind of peer carry the same advertisement every time: parse each distinct one once.
const parsed = new Map<string, ReadonlySet<string>>();

export function parseExtensions(value: unknown): ReadonlySet<string> {
  if (typeof value === 'string' && value.length > 0) {
    let set = parsed.get(value);
    if (!set) {
      set = new Set(value.split(','));
      if (parsed.size < 64) parsed.set(value, set);
    }
    return set;
  }
  if (Array.isArray(value)) return new Set(value.filter((v): v is string => typeof v === 'string'));
  return EMPTY;
}
const EMPTY: ReadonlySet<string> = new Set();
