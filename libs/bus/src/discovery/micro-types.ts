/**
 * The NATS Services API (ADR-32) responses, as `nats micro` and every NATS client library read them. Times are
 * nanoseconds (integers), `started` is RFC 3339; `metadata` values are strings.
 */
export const ServiceResponseTypes = {
  PING: 'io.nats.micro.v1.ping_response',
  INFO: 'io.nats.micro.v1.info_response',
  STATS: 'io.nats.micro.v1.stats_response',
} as const;

/** The three verbs: `$SRV.<verb>`, `$SRV.<verb>.<name>`, `$SRV.<verb>.<name>.<id>`. */
export type ServiceVerb = 'PING' | 'INFO' | 'STATS';

/** The subject prefix of the Services API. */
export const SERVICE_API_PREFIX = '$SRV';

/** Who answers: shared by the three responses. */
export interface ServiceIdentity {
  type: string;
  name: string;
  id: string;
  version: string;
  metadata: Record<string, string>;
}

export interface ServicePing extends ServiceIdentity {
  type: typeof ServiceResponseTypes.PING;
}

export interface ServiceEndpointInfo {
  /** `^[A-Za-z0-9_-]+$`: the target with its dots replaced (see serviceNameOf); the target is `metadata['acp.target']`. */
  name: string;
  subject: string;
  queue_group: string;
  metadata: Record<string, string>;
}

export interface ServiceInfo extends ServiceIdentity {
  type: typeof ServiceResponseTypes.INFO;
  description: string;
  endpoints: ServiceEndpointInfo[];
}

export interface ServiceEndpointStats {
  name: string;
  subject: string;
  queue_group: string;
  num_requests: number;
  num_errors: number;
  /** Empty when there was none. */
  last_error: string;
  /** Nanoseconds, in total. */
  processing_time: number;
  /** Nanoseconds, processing_time / num_requests. */
  average_processing_time: number;
  /**
   * What the service adds (ADR-32 leaves it open). Ours: `acp_latency` (`[bucket, count]` of timed requests,
   * latency-buckets.ts) and `acp_callers` (`{ agent id: [requests, errors] }`).
   */
  data?: Record<string, unknown>;
}

export interface ServiceStats extends ServiceIdentity {
  type: typeof ServiceResponseTypes.STATS;
  /** RFC 3339. */
  started: string;
  endpoints: ServiceEndpointStats[];
}

/** Builds `$SRV.<verb>[.<name>[.<id>]]`. */
export function serviceApiSubject(verb: ServiceVerb, name?: string, id?: string): string {
  if (!name) return `${SERVICE_API_PREFIX}.${verb}`;
  return id ? `${SERVICE_API_PREFIX}.${verb}.${name}.${id}` : `${SERVICE_API_PREFIX}.${verb}.${name}`;
}
