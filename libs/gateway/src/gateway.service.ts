// The state the gateway's endpoints share (options, stream registry, peers, event feed, open SSE connections) and the
// request helpers they and the other gateway services use; the endpoints themselves are in gateway-invoke-endpoint.ts,
// gateway-stream-endpoints.ts and gateway-event-endpoints.ts. Auth, CORS, call options, body reading, SSE, the stream
// registry and peers are in their own files.
import { Inject, Injectable, Optional, type OnApplicationBootstrap, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { ServerResponse } from 'node:http';
import { assertName, BusClient, type CallOptions, ErrorCodes, SessionRoutes } from '@openagentio/nestjs';
import { subjectMatches } from '@openagentio/nestjs/internal/protocol/subject-match.js';
import { IDENTITY_KEY, type GatewayRequest } from './gateway-auth.js';
import { assertBodyDepth, JsonBodyError, parseJsonText, readJsonBody } from '@openagentio/nestjs-bridges/internal/http/json-body.js';
import { GatewayHttpError, isGatewayPath, sendError } from './gateway-errors.js';
import { gatewayBodyTooLarge, installGatewayBodyReader } from './gateway-body-reader.js';
import {
  resolveGatewayOptions,
  type GatewayModuleExtras,
  type GatewayIdentity,
  type GatewayModuleOptions,
  type ResolvedGatewayOptions,
} from './gateway.options.js';
import { GATEWAY_EXTRAS, GATEWAY_MODULE_OPTIONS } from './gateway.module-definition.js';
import { callOptionsFromRequest } from './call-options-from-headers.js';
import { applyCors } from './cors.js';
import { EventHub } from './event-hub.js';
import { SseChannel } from './sse.js';
import { PeerStreams } from './peer-streams.js';
import { StreamRegistry } from './stream-registry.js';
import type { GatewayEndpointHost } from './gateway-endpoint-host.js';
import { GatewayInvokeEndpoint } from './gateway-invoke-endpoint.js';
import { GatewayStreamEndpoints } from './gateway-stream-endpoints.js';
import { GatewayEventEndpoints } from './gateway-event-endpoints.js';

/**
 * The browser / web-app HTTP + SSE gateway onto the bus (docs/protocol.md §5 plus resumable streams and event
 * feeds). Controllers call into it; it can also be used from your own routes.
 */
@Injectable()
export class GatewayService implements GatewayEndpointHost, OnModuleInit, OnApplicationBootstrap, OnModuleDestroy {
  readonly options: ResolvedGatewayOptions;
  readonly streams: StreamRegistry;
  /** Detached streams across gateway replicas (`peerStreams`). */
  readonly peers: PeerStreams;
  private hub?: EventHub;
  private readonly channels = new Set<SseChannel>();
  /** Where handoffs left each session (`followHandoffs`). */
  private routes?: SessionRoutes;
  private readonly invoker = new GatewayInvokeEndpoint(this);
  private readonly streamEndpoints = new GatewayStreamEndpoints(this);
  private readonly eventEndpoints = new GatewayEventEndpoints(this);

  constructor(
    @Inject(GATEWAY_MODULE_OPTIONS) options: GatewayModuleOptions,
    @Inject(BusClient) readonly bus: BusClient,
    @Optional() @Inject(GATEWAY_EXTRAS) private readonly extras?: GatewayModuleExtras,
    @Optional() @Inject(HttpAdapterHost) private readonly adapterHost?: HttpAdapterHost,
  ) {
    this.options = resolveGatewayOptions(options);
    this.streams = new StreamRegistry(this.options.retentionMs);
    this.peers = new PeerStreams(bus, this.options.replicaId, this.streams);
  }

  /**
   * On Express: the gateway's own body reader, first in the chain (its `bodyLimit` applies to its routes, not the
   * application parser's 100 KB), and an error middleware (after the routes, before Nest's own error handler) that
   * answers the application body parser's errors on `errorPayloadPaths` as ErrorPayloads: 400 bad JSON, 413 too large.
   */
  onModuleInit(): void {
    const adapter = this.adapterHost?.httpAdapter;
    if (!adapter || adapter.getType?.() !== 'express') return;
    installGatewayBodyReader(adapter.getInstance(), {
      bodyLimit: this.options.bodyLimit,
      applyCors: (req, res) => this.applyCors(req, res),
    });
    if (this.extras?.handleParserErrors === false) return;
    adapter.use((err: unknown, req: GatewayRequest, res: ServerResponse, next: (e?: unknown) => void) => {
      const e = err as { type?: string; status?: number };
      const parserError =
        e?.type === 'entity.parse.failed' ||
        e?.type === 'entity.too.large' ||
        e?.type === 'request.aborted' ||
        (err instanceof SyntaxError && e.status === 400);
      if (!parserError || !isGatewayPath(req.originalUrl ?? req.url, this.options.errorPayloadPaths) || res.headersSent) return next(err);
      this.applyCors(req, res);
      const openai = /\/v1\/(chat\/completions|models)/.test(req.originalUrl ?? req.url ?? '');
      sendError(res, err, openai ? 'openai' : 'acp');
    });
  }

  // At bootstrap, not module init: a BusClient provided without BusModule may connect in another module's init;
  // requests arrive only after bootstrap (listen).
  async onApplicationBootstrap(): Promise<void> {
    // Followed from bootstrap on, so a handoff made before the first request is known to it.
    if (this.options.followHandoffs && this.bus.isConnected) await this.handoffRoutes().start();
    if (!this.options.peerStreams) return;
    if (this.bus.isConnected) this.peers.start();
    else this.bus.logger.warn('gateway: the bus is not connected at bootstrap, so detached streams are not shared with other replicas');
  }

  get events(): EventHub {
    this.hub ??= new EventHub(this.bus, this.options.eventReplayEvents, this.options.retentionMs);
    return this.hub;
  }

  onModuleDestroy(): void {
    this.peers.stop();
    this.streams.cancelAll();
    this.hub?.close();
    for (const c of this.channels) c.end();
    this.channels.clear();
  }

  /** Drops every open SSE connection (clients with EventSource reconnect and resume). */
  dropConnections(): number {
    const n = this.channels.size;
    for (const c of [...this.channels]) c.destroy();
    return n;
  }

  get openConnections(): number {
    return this.channels.size;
  }

  // ------------------------------------------------------------------ request helpers

  identity(req: GatewayRequest): GatewayIdentity | null {
    return req[IDENTITY_KEY] ?? null;
  }

  /** Envelope fields from the request headers; an authenticated identity sets tenant and user, headers cannot. */
  callOptions(req: GatewayRequest): CallOptions {
    return callOptionsFromRequest(req, this.identity(req));
  }

  /** Throws 400 for a malformed name and 404 for one the configuration does not expose. */
  assertExposed(list: string[], name: string, what: string): void {
    try {
      assertName(name, what);
    } catch (err) {
      throw new GatewayHttpError(ErrorCodes.INVALID_REQUEST, (err as Error).message);
    }
    if (!list.some((p) => p === name || subjectMatches(p, name))) {
      throw new GatewayHttpError(ErrorCodes.NO_HANDLER, `${what} "${name}" is not exposed by this gateway`);
    }
  }

  /**
   * The bus target a request addressed to `target` goes to: where a handoff left the session (`followHandoffs`), then
   * the `resolveTarget` hook's choice; a choice outside `exposed` (what this endpoint may call) is ignored.
   */
  async targetFor(req: GatewayRequest, target: string, kind: 'invoke' | 'stream' | 'chat', exposed: readonly string[]): Promise<string> {
    if (!this.options.followHandoffs && !this.options.resolveTarget) return target;
    const session = this.callOptions(req);
    let chosen = target;
    if (this.options.followHandoffs) chosen = await this.handoffRoutes().resolve(chosen, session);
    if (this.options.resolveTarget) chosen = (await this.options.resolveTarget(chosen, { kind, session })) ?? chosen;
    if (chosen === target) return target;
    return exposed.some((p) => p === chosen || subjectMatches(p, chosen)) ? chosen : target;
  }

  private handoffRoutes(): SessionRoutes {
    if (!this.routes) {
      this.routes = SessionRoutes.of(this.bus);
      void this.routes.start().catch((err: Error) => this.bus.logger.warn(`gateway: cannot follow handoffs: ${err.message}`));
    }
    return this.routes;
  }

  /** Reads the JSON body (undefined when empty) within the size limit: 413 above it, 400 for bad JSON. */
  async readBody(req: GatewayRequest): Promise<unknown> {
    try {
      if (req._body || req.readableEnded) {
        // parsed by the application's body parser
        const declared = Number(req.headers['content-length']);
        if (Number.isFinite(declared) && declared > this.options.bodyLimit) throw gatewayBodyTooLarge(this.options.bodyLimit, declared);
        const b = req.body;
        if (b === undefined || (typeof b === 'object' && b !== null && !Array.isArray(b) && Object.keys(b).length === 0 && !declared))
          return undefined;
        if (Buffer.isBuffer(b) || typeof b === 'string') return parseJsonText(b.toString());
        return assertBodyDepth(b);
      }
      return await readJsonBody(req, this.options.bodyLimit);
    } catch (err) {
      if (err instanceof JsonBodyError && err.status === 413) throw gatewayBodyTooLarge(this.options.bodyLimit);
      throw err instanceof JsonBodyError ? new GatewayHttpError(ErrorCodes.INVALID_REQUEST, err.message, err.status) : err;
    }
  }

  /** CORS headers; answers a preflight. Returns true when the response was sent. */
  applyCors(req: GatewayRequest, res: ServerResponse): boolean {
    return applyCors(this.options.cors, req, res);
  }

  openSse(res: ServerResponse): SseChannel {
    const ch = new SseChannel(res, this.options.heartbeatMs, this.options.retryMs);
    this.channels.add(ch);
    ch.onClose(() => this.channels.delete(ch));
    return ch;
  }

  /** Who is calling, as one key per identity (tenant, user, subject); anonymous callers share ''. */
  ownerKey(req: GatewayRequest): string {
    const id = this.identity(req);
    return id ? `${id.tenant_id ?? ''}/${id.user_id ?? ''}/${id.subject ?? ''}` : '';
  }

  // ------------------------------------------------------------------ endpoints

  /** POST /v1/agents/{target}/invoke → 200 with the reply payload, 204 without one. Disconnect cancels. */
  invoke(req: GatewayRequest, res: ServerResponse, target: string): Promise<void> {
    return this.invoker.invoke(req, res, target);
  }

  /**
   * POST /v1/agents/{target}/stream → text/event-stream, one event per frame. Headers wait for the first frame
   * (at most 1 s), so an immediate failure (NO_HANDLER…) is a JSON ErrorPayload with its status; later errors
   * are a final `agent.response.error` frame. The stream id is in `X-Stream-Id`; closing the connection
   * cancels the call at once.
   */
  stream(req: GatewayRequest, res: ServerResponse, target: string): Promise<void> {
    return this.streamEndpoints.stream(req, res, target);
  }

  /**
   * GET /v1/agents/{target}/stream?payload=<JSON>[&session_id=…] → SSE: starts a stream from an EventSource, or
   * resumes the one an EventSource reconnecting with `Last-Event-ID` was reading.
   */
  streamFromGet(req: GatewayRequest, res: ServerResponse, target: string): Promise<void> {
    return this.streamEndpoints.streamFromGet(req, res, target);
  }

  /** POST /v1/agents/{target}/streams → 201 `{stream_id, target, events_url}`: starts a stream that runs detached. */
  startDetached(req: GatewayRequest, res: ServerResponse, target: string): Promise<void> {
    return this.streamEndpoints.startDetached(req, res, target);
  }

  /** GET /v1/streams/{id} → SSE: the buffered frames after `Last-Event-ID`, then live frames to the end. */
  attachStream(req: GatewayRequest, res: ServerResponse, id: string): void | Promise<void> {
    return this.streamEndpoints.attachStream(req, res, id);
  }

  /** DELETE /v1/streams/{id} → 204: cancels the stream, on whichever replica runs it. */
  cancelStream(req: GatewayRequest, res: ServerResponse, id: string): Promise<void> {
    return this.streamEndpoints.cancelStream(req, res, id);
  }

  /** POST /v1/events/{event_type} → 202 `{event_id}`. */
  publish(req: GatewayRequest, res: ServerResponse, eventType: string): Promise<void> {
    return this.eventEndpoints.publish(req, res, eventType);
  }

  /** GET /v1/events?pattern=<p>[&session_id=<s>][&named=false] → SSE of the events matching the pattern. */
  subscribe(req: GatewayRequest, res: ServerResponse): void {
    this.eventEndpoints.subscribe(req, res);
  }
}
