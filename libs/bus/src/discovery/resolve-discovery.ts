import { BusError } from '../errors/bus-error.js';
import { ErrorCodes } from '../errors/error-codes.js';
import type { DiscoveryOptions, ResolvedDiscoveryOptions } from '../interfaces/discovery-options.interface.js';
import { SPEC_VERSION } from '../protocol/envelope.js';
import { uniqueToken } from '../transport/nats/nats-client.js';
import { ServiceMetaKeys } from './endpoint-metadata.js';
import { SEMVER, SERVICE_NAME, serviceNameOf } from './service-name.js';

/** Who the bus is, for the metadata its service carries. */
export interface BusIdentity {
  agentId: string;
  tenant?: string;
  subjectPrefix: string;
}

/**
 * The `discovery` option with its defaults, or undefined when it is off. Checked at construction: ADR-32 clients
 * (natscli among them) drop a response whose name, id or version does not match the schema, so a bad one would
 * only show up as a service that is never listed.
 */
export function resolveDiscovery(value: boolean | DiscoveryOptions | undefined, bus: BusIdentity): ResolvedDiscoveryOptions | undefined {
  const o: DiscoveryOptions = typeof value === 'object' && value !== null ? value : {};
  if (value === false || o.enabled === false) return undefined;
  const name = o.name ?? serviceNameOf(bus.agentId);
  const id = o.id ?? uniqueToken();
  const version = o.version ?? '0.0.0';
  if (!SERVICE_NAME.test(name)) throw invalid(`discovery name "${name}" may hold only letters, digits, "_" and "-"`);
  if (!SERVICE_NAME.test(id)) throw invalid(`discovery id "${id}" may hold only letters, digits, "_" and "-"`);
  if (!SEMVER.test(version)) throw invalid(`discovery version "${version}" is not a semantic version (like 1.2.3)`);
  const metadata: Record<string, string> = {};
  for (const [k, v] of Object.entries(o.metadata ?? {})) if (typeof v === 'string') metadata[k] = v;
  metadata[ServiceMetaKeys.AGENT_ID] = bus.agentId;
  metadata[ServiceMetaKeys.SPEC_VERSION] = SPEC_VERSION;
  metadata[ServiceMetaKeys.SUBJECT_PREFIX] = bus.subjectPrefix;
  if (bus.tenant) metadata[ServiceMetaKeys.TENANT] = bus.tenant;
  return { name, id, version, description: o.description ?? `${SPEC_VERSION} agent ${bus.agentId}`, metadata, control: o.control === true };
}

function invalid(message: string): BusError {
  return new BusError(ErrorCodes.INVALID_REQUEST, message);
}
