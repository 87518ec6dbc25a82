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

/** Validates a decoded object against the schema; returns a readable list of problems, empty when valid. */
export function schemaProblems(value: unknown): string[] {
  const validate = envelopeValidator();
  if (validate(value)) return [];
  return (validate.errors ?? []).map(describe);
}

function describe(e: ErrorObject): string {
  const where = e.instancePath || '(envelope)';
  return `${where} ${e.message ?? 'is invalid'}`;
}
