import { BusError } from '../errors/bus-error.js';
import { ErrorCodes } from '../errors/error-codes.js';
import { DEFAULT_REORDER_LIMITS } from '../caller/reorder-buffer.js';
import { resolveDiscovery } from '../discovery/resolve-discovery.js';
import type { BusClientOptions, ResolvedBusOptions } from '../interfaces/bus-client-options.interface.js';
import type { BusAudit } from '../observability/bus-audit.js';
import type { BusMetrics } from '../observability/bus-metrics.js';
import { assertName, DEFAULT_SUBJECT_PREFIX, SubjectScheme } from '../protocol/subjects.js';
import type { Transport } from '../transport/transport.interface.js';
import { consoleBusLogger, type BusLogger } from './bus-logger.js';
import { BusStats } from './bus-stats.js';
import { WarnLimiter } from './warn-limiter.js';

/**
 * What the caller, the responder and the inbox router of one bus share: who this agent is, the transport, the
 * subject scheme, the resolved options, the counters and the connection state. Neither side owns it, so neither
 * side needs the other.
 */
export class BusRuntime {
  readonly agentId: string;
  readonly subjects: SubjectScheme;
  readonly stats = new BusStats();
  readonly logger: BusLogger;
  readonly options: ResolvedBusOptions;
  /** The reply inbox of this bus: replies arrive on `{inbox}.{callId}`, control frames on `{inbox}.ctl.{id}`. */
  readonly inbox: string;
  /** Warnings about invalid messages, rate-limited (a flood must not flood the log). */
  readonly invalidLog: WarnLimiter;
  /** Set once the bus is built, when telemetry is on. */
  metrics?: BusMetrics;
  /** Set once the bus is built, when `audit` is on: absent, serving a call does not touch it. */
  audit?: BusAudit;
  connected = false;
  closing = false;
  /** Set when the server refused the reply inbox subscription: calls fail with it. */
  inboxError?: BusError;
  private nextCallId = 0;

  constructor(
    readonly transport: Transport,
    options: BusClientOptions,
  ) {
    assertName(options.agentId, 'agent id');
    this.agentId = options.agentId;
    this.subjects = new SubjectScheme(options.subjectPrefix ?? DEFAULT_SUBJECT_PREFIX, options.tenant || undefined);
    this.logger = options.logger ?? consoleBusLogger;
    this.options = resolveOptions(options, transport.kind);
    this.inbox = transport.newInbox();
    this.invalidLog = new WarnLimiter(this.logger);
  }

  get isOpen(): boolean {
    return this.connected && !this.closing;
  }

  /** A new call id, unique on this bus (the last token of a reply subject). */
  newCallId(): string {
    return (this.nextCallId++).toString(36);
  }

  assertOpen(): void {
    if (!this.connected || this.closing) {
      throw new BusError(
        ErrorCodes.TRANSPORT_FAILURE,
        this.closing ? 'bus client is closed' : 'bus client is not connected; call connect() first',
      );
    }
  }

  /** Open, and able to hear replies. */
  assertCanCall(): void {
    this.assertOpen();
    if (this.inboxError) throw this.inboxError;
  }
}

function resolveOptions(options: BusClientOptions, transportKind: string): ResolvedBusOptions {
  // Discovery defaults to on where there is someone to discover us: over NATS (docs/discovery.md says why not in memory).
  const discovery = options.discovery ?? transportKind === 'nats';
  return {
    agentId: options.agentId,
    tenant: options.tenant || undefined,
    defaultTimeout: options.defaultTimeout ?? 30_000,
    defaultStreamTimeout: options.defaultStreamTimeout ?? 300_000,
    streamWindow: Math.max(2, options.streamWindow ?? 256),
    maxBufferedFrames: options.maxBufferedFrames ?? 4096,
    maxBufferedBytes: options.maxBufferedBytes ?? 32 * 1024 * 1024,
    livenessInterval: options.livenessInterval ?? 5_000,
    reorder: { ...DEFAULT_REORDER_LIMITS, ...(options.reorder ?? {}) },
    policies: options.policies,
    telemetry: options.telemetry ?? true,
    audit: options.audit ?? false,
    exposeErrors: options.exposeErrors ?? false,
    chunkRequests: options.chunkRequests ?? 'negotiated',
    chunkEvents: options.chunkEvents ?? false,
    ...(options.calls ? { calls: [...options.calls] } : {}),
    ...(options.publishes ? { publishes: [...options.publishes] } : {}),
    ...(options.subscribes ? { subscribes: [...options.subscribes] } : {}),
    durableEvents: options.durableEvents,
    discovery: resolveDiscovery(discovery, {
      agentId: options.agentId,
      tenant: options.tenant || undefined,
      subjectPrefix: options.subjectPrefix ?? DEFAULT_SUBJECT_PREFIX,
    }),
  };
}

/** A transport error as a BusError (TRANSPORT_FAILURE unless it already is one). */
export function asTransportError(err: unknown): BusError {
  if (err instanceof BusError) return err;
  return new BusError(ErrorCodes.TRANSPORT_FAILURE, (err as Error)?.message ?? String(err));
}
