import type { ServerResponse } from 'node:http';
import type { BusClient, CallOptions } from '@openagentio/nestjs';
import type { GatewayRequest } from './gateway-auth.js';
import type { ResolvedGatewayOptions } from './gateway.options.js';
import type { EventHub } from './event-hub.js';
import type { SseChannel } from './sse.js';
import type { PeerStreams } from './peer-streams.js';
import type { StreamRegistry } from './stream-registry.js';

/**
 * What the gateway's endpoint classes (invoke, streams, events) need of their owner, GatewayService, which holds the
 * state they share. An interface of its own so that they do not import the service that builds them.
 */
export interface GatewayEndpointHost {
  readonly options: ResolvedGatewayOptions;
  readonly bus: BusClient;
  readonly streams: StreamRegistry;
  readonly peers: PeerStreams;
  readonly events: EventHub;
  callOptions(req: GatewayRequest): CallOptions;
  assertExposed(list: string[], name: string, what: string): void;
  targetFor(req: GatewayRequest, target: string, kind: 'invoke' | 'stream' | 'chat', exposed: readonly string[]): Promise<string>;
  readBody(req: GatewayRequest): Promise<unknown>;
  openSse(res: ServerResponse): SseChannel;
  ownerKey(req: GatewayRequest): string;
}

/** The id an EventSource resumes after: the `Last-Event-ID` header, or the `last_event_id` query parameter. */
export function lastEventId(req: GatewayRequest): string | undefined {
  const h = req.headers['last-event-id'];
  if (typeof h === 'string' && h) return h;
  const q = req.query?.last_event_id;
  return typeof q === 'string' && q ? q : undefined;
}
