import { BusError } from '../errors/bus-error.js';
import { ErrorCodes } from '../errors/error-codes.js';
import { EventTypes, FRAME_TYPE_OF, SPEC_VERSION, type Envelope } from './envelope.js';
import { schemaProblems } from './envelope-validator.js';

/** `acp/1.`: the envelopes this reader understands are those of major version 1. */
const SPEC_MAJOR = SPEC_VERSION.slice(0, SPEC_VERSION.indexOf('.') + 1);

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

/**
 * Encodes an envelope as compact JSON, leaving out what acp/1.0 says to omit: empty optional strings, seq 0,
 * is_final false, empty metadata and an absent payload.
 */
export function encodeEnvelope(env: Envelope): string {
  return JSON.stringify(asWireForm(env));
}

/** The envelope itself when it is already in wire form (as the factory builds them), else a cleaned copy. */
export function asWireForm(env: Envelope): Envelope | Record<string, unknown> {
  return inWireForm(env) ? env : wireForm(env);
}

function inWireForm(env: Envelope): boolean {
  for (const key in env) {
    const v = (env as unknown as Record<string, unknown>)[key];
    if (v === undefined || v === null || v === '') return false;
    if (key === 'seq' && v === 0) return false;
    if (key === 'is_final' && v === false) return false;
    if (key === 'metadata' && isEmptyObject(v)) return false;
  }
  return true;
}

export function encodeEnvelopeBytes(env: Envelope): Uint8Array {
  return encoder.encode(encodeEnvelope(env));
}

/** The object that is serialised: the envelope with the omit-empty rules applied. */
export function wireForm(env: Envelope): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key in env) {
    const v = (env as unknown as Record<string, unknown>)[key];
    if (v === undefined || v === null || v === '') continue;
    if (key === 'seq' && v === 0) continue;
    if (key === 'is_final' && v === false) continue;
    if (key === 'metadata' && isEmptyObject(v)) continue;
    out[key] = v;
  }
  return out;
}

/** Decodes bytes or text into a validated, normalised envelope; throws BusError(CODEC_FAILURE | INVALID_REQUEST). */
export function decodeEnvelope(data: Uint8Array | string): Envelope {
  let text: string;
  try {
    text = typeof data === 'string' ? data : decoder.decode(data);
  } catch {
    throw new BusError(ErrorCodes.CODEC_FAILURE, 'message body is not valid UTF-8');
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new BusError(ErrorCodes.CODEC_FAILURE, `message body is not JSON: ${(e as Error).message}`);
  }
  return normalizeEnvelope(value);
}

/** Validates an already-parsed value against the schema and applies the decode rules. */
export function normalizeEnvelope(value: unknown): Envelope {
  if (!value || typeof value !== 'object' || Array.isArray(value)) {
    throw new BusError(ErrorCodes.INVALID_REQUEST, 'envelope must be a JSON object');
  }
  const problems = schemaProblems(value);
  if (problems.length > 0) {
    throw new BusError(ErrorCodes.INVALID_REQUEST, `envelope does not match acp/1.0: ${problems.join('; ')}`, {
      cause: { errors: problems },
    });
  }
  const env = value as Envelope;
  // The schema lets any `acp/<major>.<minor>` through; a minor version of acp/1 is read as acp/1.0 (a newer minor
  // only adds what a reader may ignore), another major is another protocol. A string compare on the hot path.
  const sv = env.spec_version;
  if (sv !== SPEC_VERSION && !sv.startsWith(SPEC_MAJOR)) {
    throw new BusError(ErrorCodes.INVALID_REQUEST, `unsupported spec_version "${sv.slice(0, 32)}": this peer speaks ${SPEC_MAJOR}x`);
  }
  const canonical = FRAME_TYPE_OF[env.event_type];
  if (canonical && env.frame_type !== canonical) env.frame_type = canonical;
  dropEmptyPythonObjects(env);
  return env;
}

// Python peers write `"cause":{}`, `"data":{}`, `"meta":{}` for absent values.
function dropEmptyPythonObjects(env: Envelope): void {
  const p = env.payload as Record<string, unknown> | undefined;
  if (!p || typeof p !== 'object' || Array.isArray(p)) return;
  if (env.event_type === EventTypes.ERROR && isEmptyObject(p.cause)) delete p.cause;
  if (isEmptyObject(p.data)) delete p.data;
  if (isEmptyObject(p.meta)) delete p.meta;
}

function isEmptyObject(v: unknown): boolean {
  if (!v || typeof v !== 'object' || Array.isArray(v)) return false;
  for (const _ in v as object) return false;
  return true;
}

/** The frame number of an envelope: a missing seq is 0. */
export function seqOf(env: Envelope): number {
  return env.seq ?? 0;
}
