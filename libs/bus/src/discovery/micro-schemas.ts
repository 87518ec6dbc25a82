import { ServiceResponseTypes, type ServiceVerb } from './micro-types.js';

// The shapes of the three Services API answers (ADR-32, io.nats.micro.v1.*), written for what a reader relies on:
// every field read is of its type, metadata maps hold strings, endpoints are objects. `metadata` and `endpoints`
// may be null (Go services send null for an empty map or slice), an INFO's `description` absent or null. `version`
// is any string: ADR-32 asks for a semantic version, but an answer with another one is still readable.
const NAME = { type: 'string', minLength: 1, pattern: '^[A-Za-z0-9_-]+$' };
const STRING_MAP = { type: ['object', 'null'], additionalProperties: { type: 'string' } };
const INT = { type: 'integer' };

function identity(type: string, extra: Record<string, unknown>, required: string[]): Record<string, unknown> {
  return {
    type: 'object',
    required: ['type', 'name', 'id', 'version', ...required],
    properties: {
      type: { const: type },
      name: NAME,
      id: { type: 'string', minLength: 1 },
      version: { type: 'string' },
      metadata: STRING_MAP,
      ...extra,
    },
  };
}

const ENDPOINT_INFO = {
  type: 'object',
  required: ['name', 'subject'],
  properties: { name: NAME, subject: { type: 'string', minLength: 1 }, queue_group: { type: 'string' }, metadata: STRING_MAP },
};

const ENDPOINT_STATS = {
  type: 'object',
  required: ['name', 'subject', 'num_requests', 'num_errors', 'last_error', 'processing_time', 'average_processing_time'],
  properties: {
    name: NAME,
    subject: { type: 'string', minLength: 1 },
    queue_group: { type: 'string' },
    num_requests: INT,
    num_errors: INT,
    last_error: { type: 'string' },
    processing_time: INT,
    average_processing_time: INT,
    data: { type: ['object', 'null'] },
  },
};

/** JSON Schemas (draft-07) of the answers to `$SRV.<verb>`. */
export const MICRO_SCHEMAS: Record<ServiceVerb, Record<string, unknown>> = {
  PING: identity(ServiceResponseTypes.PING, {}, []),
  INFO: identity(
    ServiceResponseTypes.INFO,
    { description: { type: ['string', 'null'] }, endpoints: { type: ['array', 'null'], items: ENDPOINT_INFO } },
    [],
  ),
  STATS: identity(
    ServiceResponseTypes.STATS,
    { started: { type: 'string' }, endpoints: { type: ['array', 'null'], items: ENDPOINT_STATS } },
    ['started', 'endpoints'],
  ),
};
