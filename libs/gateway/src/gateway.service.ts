/* eslint-disable max-lines -- one service holds the gateway's invoke, stream and event endpoints; its split along those roles is the next step of issue #25 */
// Over 350 lines: the gateway's HTTP endpoints (invoke, three ways to stream, detached streams, events) share the
// service's state; auth, CORS, call options, body reading, SSE, the stream registry and peers are in their own files.
import { Inject, Injectable, Optional, type OnApplicationBootstrap, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import {
  assertName,
  BusClient,
  BusError,
  type CallOptions,
  type Envelope,
  ErrorCodes,
  EventTypes,
  SessionRoutes,
} from '@openagentio/nestjs';
import { assertPattern } from '@openagentio/nestjs/internal/protocol/subjects.js';
import { isTerminalEventType } from '@openagentio/nestjs/internal/protocol/envelope.js';
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
import { EventHub, patternCovers } from './event-hub.js';
import { onClientGone, SseChannel } from './sse.js';
import { PeerStreams } from './peer-streams.js';
import { GatewayStream, StreamRegistry } from './stream-registry.js';

/**
 * The browser / web-app HTTP + SSE gateway onto the bus (docs/protocol.md §5 plus resumable streams and event
 * feeds). Controllers call into it; it can also be used from your own routes.
 */
@Injectable()
export class GatewayService implements OnModuleInit, OnApplicationBootstrap, OnModuleDestroy {
  readonly options: ResolvedGatewayOptions;
  readonly streams: StreamRegistry;
  /** Detached streams across gateway replicas (`peerStreams`). */
  readonly peers: PeerStreams;
  private hub?: EventHub;
  private readonly channels = new Set<SseChannel>();
  /** Where handoffs left each session (`followHandoffs`). */
  private routes?: SessionRoutes;

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
  async invoke(req: GatewayRequest, res: ServerResponse, target: string): Promise<void> {
    this.assertExposed(this.options.invokeTargets, target, 'invoke target');
    const payload = await this.readBody(req);
    target = await this.targetFor(req, target, 'invoke', this.options.invokeTargets);
    const ac = new AbortController();
    onClientGone(res, () =>
      ac.abort(
        new BusError(ErrorCodes.AGENT_UNAVAILABLE, 'HTTP client disconnected', { retryable: false, cause: { reason: 'cancelled' } }),
      ),
    );
    const reply = await this.bus.invokeEnvelope(target, payload, {
      ...this.callOptions(req),
      timeout: this.options.invokeTimeout,
      signal: ac.signal,
    });
    if (res.destroyed) return;
    if (reply.event_type === EventTypes.ERROR) throw BusError.fromPayload(reply.payload, reply);
    res.setHeader('x-correlation-id', reply.correlation_id ?? '');
    res.setHeader('x-event-id', reply.event_id);
    const p = reply.payload;
    if (p === undefined || p === null || (typeof p === 'object' && !Array.isArray(p) && Object.keys(p).length === 0)) {
      res.statusCode = 204;
      res.end();
      return;
    }
    res.statusCode = 200;
    res.setHeader('content-type', 'application/json; charset=utf-8');
    res.end(JSON.stringify(p));
  }

  private newStream(req: GatewayRequest, target: string, payload: unknown, graceMs: number): GatewayStream {
    const owner = this.ownerKey(req);
    if (graceMs > 0 && this.streams.detachedOf(owner) >= this.options.maxDetachedStreams) {
      throw new GatewayHttpError(
        ErrorCodes.BACKPRESSURE_DROP,
        `too many detached streams running for this identity (limit ${this.options.maxDetachedStreams}); end one with DELETE /v1/streams/{id}`,
        429,
      );
    }
    return this.streams.create(
      (onEnded) =>
        new GatewayStream(
          this.peers.newId(randomUUID()),
          this.bus,
          target,
          payload,
          { ...this.callOptions(req), timeout: this.options.streamTimeout, maxBufferedBytes: this.options.streamUnreadBytes },
          owner,
          graceMs,
          this.options.streamReplayFrames,
          onEnded,
          this.options.streamReplayBytes,
        ),
    );
  }

  /**
   * POST /v1/agents/{target}/stream → text/event-stream, one event per frame. Headers wait for the first frame
   * (at most 1 s), so an immediate failure (NO_HANDLER…) is a JSON ErrorPayload with its status; later errors
   * are a final `agent.response.error` frame. The stream id is in `X-Stream-Id`; closing the connection
   * cancels the call at once.
   */
  async stream(req: GatewayRequest, res: ServerResponse, target: string): Promise<void> {
    this.assertExposed(this.options.streamTargets, target, 'stream target');
    const payload = await this.readBody(req);
    target = await this.targetFor(req, target, 'stream', this.options.streamTargets);
    const s = this.newStream(req, target, payload, 0);
    const ch = this.openSse(res);
    let opened = false;
    const early: Envelope[] = [];
    const open = () => {
      if (opened || ch.closed) return;
      opened = true;
      ch.open({ 'x-stream-id': s.id });
      for (const f of early.splice(0)) this.writeFrame(ch, f);
    };
    const detach = s.attach((frame) => {
      if (!opened) {
        if (early.length === 0 && frame.event_type === EventTypes.ERROR) {
          opened = true;
          sendError(res, BusError.fromPayload(frame.payload, frame));
          return undefined;
        }
        early.push(frame);
        open();
        return undefined;
      }
      return this.writeFrame(ch, frame);
    });
    ch.onClose(detach);
    const timer = setTimeout(open, Math.min(1000, this.options.heartbeatMs));
    ch.onClose(() => clearTimeout(timer));
    s.start();
    await s.firstFrame(1000);
    clearTimeout(timer);
    open();
  }

  /**
   * GET /v1/agents/{target}/stream?payload=<JSON>[&session_id=…] → SSE: starts a stream from an EventSource.
   * The id is announced in `X-Stream-Id` and a first `: stream_id <id>` comment. When the EventSource
   * reconnects (same URL, `Last-Event-ID`), the gateway finds the stream by that frame id and resumes it instead
   * of starting a new one; the stream is cancelled when no client has been attached for `detachGraceMs`.
   */
  async streamFromGet(req: GatewayRequest, res: ServerResponse, target: string): Promise<void> {
    this.assertExposed(this.options.streamTargets, target, 'stream target');
    const requested = target;
    target = await this.targetFor(req, target, 'stream', this.options.streamTargets);
    const last = lastEventId(req);
    if (last) {
      const existing = this.streams.findByEventId(last);
      // Its target is the one it started with: the requested one, or where a handoff sent the session then.
      if (existing && (existing.target === target || existing.target === requested) && existing.ownerKey === this.ownerKey(req))
        return this.attachStream(req, res, existing.id);
      // The EventSource may have reconnected through another replica than the one running its stream.
      const elsewhere = this.options.peerStreams && !existing ? await this.peers.find(last, target, this.ownerKey(req)) : undefined;
      const replica = elsewhere && this.peers.remoteReplica(elsewhere);
      if (replica) return this.attachRemote(req, res, replica, elsewhere!);
      throw new GatewayHttpError(ErrorCodes.NO_HANDLER, `no stream of "${target}" has frame ${last}`);
    }
    const raw = typeof req.query?.payload === 'string' ? req.query.payload : undefined;
    if (raw && Buffer.byteLength(raw) > this.options.bodyLimit) {
      throw new GatewayHttpError(ErrorCodes.INVALID_REQUEST, `payload exceeds the limit of ${this.options.bodyLimit} bytes`, 413);
    }
    const payload = raw === undefined ? undefined : parseJson(raw);
    const s = this.newStream(req, target, payload, this.options.detachGraceMs);
    const ch = this.openSse(res);
    ch.open({ 'x-stream-id': s.id });
    ch.comment(`stream_id ${s.id}`);
    const detach = s.attach((frame) => this.writeFrame(ch, frame), undefined, false);
    ch.onClose(detach);
    s.start();
  }

  /** Writes a frame; while the client's socket is full, returns when it has drained (see GatewayStream). */
  private writeFrame(ch: SseChannel, frame: Envelope): Promise<void> | undefined {
    ch.send(frame);
    if (isTerminalEventType(frame.event_type)) ch.end();
    return ch.congested ? ch.drained() : undefined;
  }

  /**
   * POST /v1/agents/{target}/streams → 201 `{stream_id, target, events_url}`: starts a stream that runs
   * detached; clients attach with GET /v1/streams/{id} (EventSource) and stop it with DELETE. It is cancelled
   * when no client has been attached for `detachGraceMs`.
   */
  async startDetached(req: GatewayRequest, res: ServerResponse, target: string): Promise<void> {
    this.assertExposed(this.options.streamTargets, target, 'stream target');
    const payload = await this.readBody(req);
    target = await this.targetFor(req, target, 'stream', this.options.streamTargets);
    const s = this.newStream(req, target, payload, this.options.detachGraceMs);
    s.start();
    await s.firstFrame(1000);
    const frames = s.buffer.all();
    if (s.ended && frames.length === 1 && frames[0].event_type === EventTypes.ERROR) {
      throw BusError.fromPayload(frames[0].payload, frames[0]);
    }
    res.statusCode = 201;
    res.setHeader('content-type', 'application/json; charset=utf-8');
    res.setHeader('x-stream-id', s.id);
    res.end(JSON.stringify({ stream_id: s.id, target, events_url: `/v1/streams/${s.id}` }));
  }

  private findStream(req: GatewayRequest, id: string): GatewayStream {
    const s = this.streams.get(id);
    if (!s || s.ownerKey !== this.ownerKey(req)) throw new GatewayHttpError(ErrorCodes.NO_HANDLER, `no stream "${id}"`);
    return s;
  }

  /**
   * GET /v1/streams/{id} → SSE: replays the buffered frames after `Last-Event-ID` (header, or `last_event_id`
   * query), then live frames to the end. A finished stream with nothing left to send answers 204 (EventSource
   * then stops reconnecting).
   */
  attachStream(req: GatewayRequest, res: ServerResponse, id: string): void | Promise<void> {
    const replica = this.remoteReplica(id);
    if (replica) return this.attachRemote(req, res, replica, id);
    const s = this.findStream(req, id);
    const last = lastEventId(req);
    const missed = s.buffer.after(last);
    if (s.ended && missed.length === 0) {
      res.statusCode = 204;
      res.end();
      return;
    }
    const ch = this.openSse(res);
    ch.open({ 'x-stream-id': s.id });
    const detach = s.attach((frame) => this.writeFrame(ch, frame), last);
    ch.onClose(detach);
  }

  /** DELETE /v1/streams/{id} → 204: cancels the stream (the agent's handler is aborted), on whichever replica runs it. */
  async cancelStream(req: GatewayRequest, res: ServerResponse, id: string): Promise<void> {
    const replica = this.remoteReplica(id);
    if (replica) {
      await this.peers.cancel(replica, { id, owner: this.ownerKey(req) }).catch((err: unknown) => {
        throw noStreamIfUnknown(err, id);
      });
    } else this.findStream(req, id).cancel('cancelled by the client');
    res.statusCode = 204;
    res.end();
  }

  /** The replica that runs stream `id`, when it is another one and replicas share streams. */
  private remoteReplica(id: string): string | undefined {
    return this.options.peerStreams && !this.streams.get(id) ? this.peers.remoteReplica(id) : undefined;
  }

  /**
   * GET /v1/streams/{id} for a stream another replica runs: its frames come over the bus (PeerStreams) and go
   * out as SSE exactly as a local attach sends them; closing the connection detaches there.
   */
  private async attachRemote(req: GatewayRequest, res: ServerResponse, replica: string, id: string): Promise<void> {
    const call = this.peers.attach(replica, { id, owner: this.ownerKey(req), last_event_id: lastEventId(req) });
    const frames = call[Symbol.asyncIterator]();
    let first: IteratorResult<Envelope>;
    try {
      do first = await frames.next();
      while (!first.done && first.value.event_type === EventTypes.STARTED);
    } catch (err) {
      throw noStreamIfUnknown(err, id);
    }
    if (first.done || first.value.event_type !== EventTypes.DELTA) {
      // ended, with nothing after Last-Event-ID: as for a local stream, 204 stops an EventSource reconnecting
      res.statusCode = 204;
      res.end();
      return;
    }
    const ch = this.openSse(res);
    ch.open({ 'x-stream-id': id });
    ch.onClose(() => call.cancel('client disconnected'));
    const forward = (delta: Envelope) => {
      const frame = (delta.payload as { data?: Envelope } | undefined)?.data;
      if (frame && typeof frame === 'object') this.writeFrame(ch, frame);
    };
    forward(first.value);
    void (async () => {
      try {
        for (let r = await frames.next(); !r.done; r = await frames.next()) if (r.value.event_type === EventTypes.DELTA) forward(r.value);
      } catch {
        // the replica went away or the client left: the client reconnects with Last-Event-ID
      } finally {
        ch.end();
      }
    })();
  }

  /** POST /v1/events/{event_type} → 202 `{event_id}`. */
  async publish(req: GatewayRequest, res: ServerResponse, eventType: string): Promise<void> {
    this.assertExposed(this.options.publishEvents, eventType, 'event type');
    const payload = await this.readBody(req);
    const env = await this.bus.publish(eventType, payload, this.callOptions(req));
    res.statusCode = 202;
    res.setHeader('content-type', 'application/json; charset=utf-8');
    res.setHeader('x-event-id', env.event_id);
    res.end(JSON.stringify({ event_id: env.event_id }));
  }

  /**
   * GET /v1/events?pattern=<p>[&session_id=<s>][&named=false] → SSE of the events matching the pattern (which must lie inside
   * an exposed one), restricted to the caller's tenant and, when given, one session; resumes after
   * Last-Event-ID from the feed's replay buffer.
   */
  subscribe(req: GatewayRequest, res: ServerResponse): void {
    const pattern = typeof req.query?.pattern === 'string' ? req.query.pattern : undefined;
    if (!pattern) throw new GatewayHttpError(ErrorCodes.INVALID_REQUEST, 'query parameter "pattern" is required');
    try {
      assertPattern(pattern, 'event pattern');
    } catch (err) {
      throw new GatewayHttpError(ErrorCodes.INVALID_REQUEST, (err as Error).message);
    }
    if (!this.options.subscribeEvents.some((a) => patternCovers(a, pattern))) {
      throw new GatewayHttpError(ErrorCodes.NO_HANDLER, `event pattern "${pattern}" is not exposed by this gateway`);
    }
    const opts = this.callOptions(req);
    const sessionQ = typeof req.query?.session_id === 'string' && req.query.session_id ? req.query.session_id : undefined;
    const filter = { tenant_id: opts.tenant_id, session_id: sessionQ ?? opts.session_id };
    if (filter.tenant_id === undefined) delete filter.tenant_id;
    if (filter.session_id === undefined) delete filter.session_id;
    const ch = this.openSse(res);
    ch.open();
    // `named=false` leaves out the `event:` field so an EventSource's onmessage sees every event type.
    const named = req.query?.named !== 'false' && req.query?.named !== '0';
    const detach = this.events.attach(pattern, filter, lastEventId(req), (env) => ch.send(env, named));
    ch.onClose(detach);
  }
}

function lastEventId(req: GatewayRequest): string | undefined {
  const h = req.headers['last-event-id'];
  if (typeof h === 'string' && h) return h;
  const q = req.query?.last_event_id;
  return typeof q === 'string' && q ? q : undefined;
}

function parseJson(text: string): unknown {
  try {
    return parseJsonText(text);
  } catch (err) {
    throw err instanceof JsonBodyError ? new GatewayHttpError(ErrorCodes.INVALID_REQUEST, err.message, err.status) : err;
  }
}

/** NO_HANDLER from a peer replica (no such stream there, or no such replica) is the 404 a local miss gives. */
function noStreamIfUnknown(err: unknown, id: string): unknown {
  return err instanceof BusError && err.code === ErrorCodes.NO_HANDLER
    ? new GatewayHttpError(ErrorCodes.NO_HANDLER, `no stream "${id}"`)
    : err;
}
