import { REPLY_COPIED_FIELDS, SCHEMA_VERSION, SPEC_VERSION, type Envelope } from './envelope.js';
import { encodeEnvelope } from './envelope-codec.js';

/** Encodes one reply frame to its wire JSON. */
export type ReplyEncoder = (frame: Envelope) => string;

const HEAD = `{"spec_version":${JSON.stringify(SPEC_VERSION)},"schema_version":${SCHEMA_VERSION},"event_id":`;

/**
 * The wire JSON of the reply frames of one request, faster than JSON.stringify of each frame (about half the
 * time for a stream delta): what every frame copies from the request (session and trace fields, correlation_id,
 * from, to) is serialised once per call, and each frame adds its own id, time, type, seq, payload and metadata.
 *
 * Only for frames that `createReply(request, …, { from })` made: the output is then byte for byte what
 * `encodeEnvelope` gives (test/unit/reply-encoder.test.ts). A frame it cannot vouch for (another spec version, a
 * payload or metadata with its own `toJSON`) takes `encodeEnvelope`.
 */
export function replyEncoder(request: Envelope, from: string | undefined): ReplyEncoder {
  let common: string | undefined;
  let flat = false;
  return (frame) => {
    const payload = frame.payload;
    const metadata = frame.metadata;
    if (
      frame.spec_version !== SPEC_VERSION ||
      frame.schema_version !== SCHEMA_VERSION ||
      hasToJSON(payload) ||
      hasToJSON(metadata) ||
      frame.correlation_id !== request.event_id
    ) {
      return encodeEnvelope(frame);
    }
    if (common === undefined) common = commonPart(request, from);
    // A second frame: a stream, which may stay open for long; its common part is kept as one flat string (trim() of
    // JSON output changes nothing), not as the tree of pieces it was built from (about twice the memory).
    else if (!flat) {
      flat = true;
      common = common.trim();
    }
    // The id (a UUID) and the time (RFC 3339) that createReply wrote need no escaping; the type names are quoted once.
    let s = `${HEAD}"${frame.event_id}","event_type":${quoted(frame.event_type)},"occurred_at":"${frame.occurred_at}"`;
    if (frame.frame_type) s += `,"frame_type":${quoted(frame.frame_type)}`;
    s += common;
    if (frame.seq) s += `,"seq":${frame.seq}`;
    if (frame.is_final) s += ',"is_final":true';
    if (payload !== undefined && payload !== null && payload !== '') {
      const p = JSON.stringify(payload) as string | undefined;
      if (p !== undefined) s += `,"payload":${p}`;
    }
    if (metadata && !isEmpty(metadata)) s += `,"metadata":${JSON.stringify(metadata)}`;
    return `${s}}`;
  };
}

/** The fields createReply copies from the request, in its order, as they serialise. */
function commonPart(request: Envelope, from: string | undefined): string {
  let s = '';
  for (const key of REPLY_COPIED_FIELDS) {
    const v = request[key];
    if (v) s += `,"${key}":${JSON.stringify(v)}`;
  }
  if (request.event_id) s += `,"correlation_id":${JSON.stringify(request.event_id)}`;
  if (from) s += `,"from":${JSON.stringify(from)}`;
  if (request.from) s += `,"to":${JSON.stringify(request.from)}`;
  return s;
}

const QUOTED = new Map<string, string>();

/** JSON.stringify of an event or frame type name, kept: a stream writes the same few names on every frame. */
function quoted(name: string): string {
  let q = QUOTED.get(name);
  if (q === undefined) {
    q = JSON.stringify(name);
    if (QUOTED.size < 256) QUOTED.set(name, q);
  }
  return q;
}

function hasToJSON(v: unknown): boolean {
  return !!v && typeof v === 'object' && typeof (v as { toJSON?: unknown }).toJSON === 'function';
}

function isEmpty(o: object): boolean {
  for (const _ in o) return false;
  return true;
}
