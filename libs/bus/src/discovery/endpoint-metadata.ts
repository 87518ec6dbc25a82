import type { ServedEndpoint } from './served-endpoint.js';

/** Endpoint metadata keys of our services (ADR-32 metadata values are strings). */
export const EndpointMetaKeys = {
  TARGET: 'acp.target',
  KIND: 'acp.kind',
  TENANT: 'acp.tenant',
  DESCRIPTION: 'acp.description',
  /** Comma-separated. */
  TAGS: 'acp.tags',
  /** The JSON Schema of the payload, as JSON text. */
  INPUT_SCHEMA: 'acp.input_schema',
  /** `true` for another component's plumbing (gateway.peer.*), which user-facing lists leave out. */
  INTERNAL: 'acp.internal',
} as const;

/** Service metadata keys of our services. */
export const ServiceMetaKeys = {
  AGENT_ID: 'acp.agent_id',
  SPEC_VERSION: 'acp.spec_version',
  SUBJECT_PREFIX: 'acp.subject_prefix',
  TENANT: 'acp.tenant',
  TRANSPORT: 'acp.transport',
} as const;

/** The endpoint metadata of one target; the input schema is computed here, on first use (a DTO is read lazily). */
export function endpointMetadata(ep: ServedEndpoint, tenant: string | undefined): Record<string, string> {
  const meta: Record<string, string> = { [EndpointMetaKeys.TARGET]: ep.target, [EndpointMetaKeys.KIND]: ep.kind };
  if (tenant) meta[EndpointMetaKeys.TENANT] = tenant;
  const about = ep.about;
  if (about.description) meta[EndpointMetaKeys.DESCRIPTION] = about.description;
  if (about.tags && about.tags.length > 0) meta[EndpointMetaKeys.TAGS] = about.tags.join(',');
  const schema = typeof about.inputSchema === 'function' ? about.inputSchema() : about.inputSchema;
  if (schema) meta[EndpointMetaKeys.INPUT_SCHEMA] = JSON.stringify(schema);
  if (about.internal) meta[EndpointMetaKeys.INTERNAL] = 'true';
  return meta;
}
