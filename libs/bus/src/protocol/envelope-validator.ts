import { createRequire } from 'node:module';
import type { ErrorObject, ValidateFunction } from 'ajv';
import { ENVELOPE_SCHEMA } from './envelope.schema.js';

// ajv and ajv-formats are CommonJS with `export default` typings; require() sidesteps the interop mismatch.
const require = createRequire(import.meta.url);
const Ajv2020 = require('ajv/dist/2020.js') as typeof import('ajv').default;
const addFormats = require('ajv-formats') as (ajv: InstanceType<typeof Ajv2020>) => unknown;

let compiled: ValidateFunction | undefined;

/** The upstream envelope schema, compiled once (Ajv, draft 2020-12, with formats). */
export function envelopeValidator(): ValidateFunction {
  if (!compiled) {
    // occurred_at is checked by the schema's own RFC 3339 pattern; ajv-formats' date-time check on top of it
    // would parse every timestamp a second time on the hot path, so formats are registered but not asserted.
    const ajv = new Ajv2020({ allErrors: true, strict: false, validateFormats: false });
    addFormats(ajv);
    compiled = ajv.compile(ENVELOPE_SCHEMA as object);
  }
  return compiled;
}

const NO_PROBLEMS: string[] = [];

/** Validates a decoded object against the schema; returns a readable list of problems, empty when valid. */
export function schemaProblems(value: unknown): string[] {
  if (surelyValid(value)) return NO_PROBLEMS;
  const validate = envelopeValidator();
  if (validate(value)) return NO_PROBLEMS;
  return (validate.errors ?? []).map(describe);
}

const FINAL_EVENT_TYPES = new Set(['agent.response.final', 'agent.response.error', 'agent.tool.result', 'agent.task.completed']);
const FINAL_FRAME_TYPES = new Set(['response.final', 'response.error', 'tool.result']);
const ERROR_CODES = new Set([
  'AGENT_TIMEOUT',
  'AGENT_UNAVAILABLE',
  'BACKPRESSURE_DROP',
  'TRANSPORT_FAILURE',
  'CODEC_FAILURE',
  'AUTH_FAILURE',
  'INVALID_REQUEST',
  'NO_HANDLER',
]);

/**
 * The schema's rules written out by hand, for the envelopes of every message: true only when the value surely
 * passes the schema (then Ajv is not asked), false when in any doubt (then Ajv decides and explains). About three
 * times faster than the compiled schema, mostly for checking ids and times without regular expressions.
 * test/unit/envelope-validator.test.ts holds it to Ajv's verdict on valid envelopes and on thousands of broken ones.
 */
export function surelyValid(value: unknown): boolean {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return false;
  const e = value as Record<string, unknown>;
  if (e.spec_version !== 'acp/1.0') return false;
  const sv = e.schema_version;
  if (typeof sv !== 'number' || !Number.isInteger(sv) || sv < 1) return false;
  if (!isUuid(e.event_id)) return false;
  const eventType = e.event_type;
  if (typeof eventType !== 'string' || eventType.length === 0) return false;
  const frameType = e.frame_type;
  if (frameType !== undefined && (typeof frameType !== 'string' || frameType.length === 0)) return false;
  if (!isRfc3339(e.occurred_at)) return false;
  // Written out, not a loop over the names: each access site then stays monomorphic (a keyed load in a loop over
  // twelve names was a third of this function's time).
  if (!optionalString(e.trace_id) || !optionalString(e.span_id) || !optionalString(e.traceparent) || !optionalString(e.session_id))
    return false;
  if (!optionalString(e.conversation_id) || !optionalString(e.correlation_id) || !optionalString(e.reply_to) || !optionalString(e.from))
    return false;
  if (!optionalString(e.to) || !optionalString(e.channel) || !optionalString(e.tenant_id) || !optionalString(e.user_id)) return false;
  const seq = e.seq;
  if (seq !== undefined && (typeof seq !== 'number' || !Number.isInteger(seq) || seq < 0)) return false;
  const isFinal = e.is_final;
  if (isFinal !== undefined && typeof isFinal !== 'boolean') return false;
  const metadata = e.metadata;
  if (metadata !== undefined && (!metadata || typeof metadata !== 'object' || Array.isArray(metadata))) return false;
  if (isFinal === true && !FINAL_EVENT_TYPES.has(eventType) && !(typeof frameType === 'string' && FINAL_FRAME_TYPES.has(frameType)))
    return false;
  if (eventType === 'agent.response.error' && e.payload !== undefined && !isErrorPayload(e.payload)) return false;
  return true;
}

function optionalString(v: unknown): boolean {
  return v === undefined || typeof v === 'string';
}

function isErrorPayload(p: unknown): boolean {
  if (!p || typeof p !== 'object' || Array.isArray(p)) return false;
  const o = p as Record<string, unknown>;
  if (typeof o.code !== 'string' || !ERROR_CODES.has(o.code)) return false;
  if (typeof o.message !== 'string' || typeof o.retryable !== 'boolean') return false;
  const cause = o.cause;
  return cause === undefined || (!!cause && typeof cause === 'object' && !Array.isArray(cause));
}

/** `^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$` */
function isUuid(v: unknown): boolean {
  if (typeof v !== 'string' || v.length !== 36) return false;
  for (let i = 0; i < 36; i++) {
    const c = v.charCodeAt(i);
    if (i === 8 || i === 13 || i === 18 || i === 23) {
      if (c !== 45) return false;
    } else if (!((c >= 48 && c <= 57) || (c >= 97 && c <= 102) || (c >= 65 && c <= 70))) return false;
  }
  return true;
}

/** `^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$` */
function isRfc3339(v: unknown): boolean {
  if (typeof v !== 'string' || v.length < 20) return false;
  for (let i = 0; i < 19; i++) {
    const c = v.charCodeAt(i);
    const want = i === 4 || i === 7 ? 45 : i === 10 ? 84 : i === 13 || i === 16 ? 58 : -1;
    if (want === -1 ? !isDigit(c) : c !== want) return false;
  }
  let i = 19;
  if (v.charCodeAt(i) === 46) {
    i++;
    const start = i;
    while (i < v.length && isDigit(v.charCodeAt(i))) i++;
    if (i === start) return false;
  }
  const c = v.charCodeAt(i);
  if (c === 90) return i + 1 === v.length;
  if (c !== 43 && c !== 45) return false;
  return (
    i + 6 === v.length &&
    isDigit(v.charCodeAt(i + 1)) &&
    isDigit(v.charCodeAt(i + 2)) &&
    v.charCodeAt(i + 3) === 58 &&
    isDigit(v.charCodeAt(i + 4)) &&
    isDigit(v.charCodeAt(i + 5))
  );
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

function describe(e: ErrorObject): string {
  const where = e.instancePath || '(envelope)';
  return `${where} ${e.message ?? 'is invalid'}`;
}
