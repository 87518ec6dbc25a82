import type { ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import { BusError, type Envelope, ErrorCodes, EventTypes } from '@openagentio/nestjs';
import { isTerminalEventType } from '@openagentio/nestjs/internal/protocol/envelope.js';
import { JsonBodyError, parseJsonText } from '@openagentio/nestjs-bridges/internal/http/json-body.js';
import type { GatewayRequest } from './gateway-auth.js';
import { lastEventId, type GatewayEndpointHost } from './gateway-endpoint-host.js';
import { GatewayHttpError, sendError } from './gateway-errors.js';
import type { SseChannel } from './sse.js';
import { GatewayStream } from './stream-registry.js';

/**
 * The gateway's stream endpoints: a stream over one POST, one started from an EventSource (resumable), detached
 * streams (start, attach, cancel), and attaching to a stream another replica runs (`peerStreams`).
 */
export class GatewayStreamEndpoints {
  constructor(private readonly host: GatewayEndpointHost) {}

  private newStream(req: GatewayRequest, target: string, payload: unknown, graceMs: number): GatewayStream {
    const owner = this.host.ownerKey(req);
    if (graceMs > 0 && this.host.streams.detachedOf(owner) >= this.host.options.maxDetachedStreams) {
      throw new GatewayHttpError(
        ErrorCodes.BACKPRESSURE_DROP,
        `too many detached streams running for this identity (limit ${this.host.options.maxDetachedStreams}); end one with DELETE /v1/streams/{id}`,
        429,
      );
    }
    return this.host.streams.create(
      (onEnded) =>
        new GatewayStream(
          this.host.peers.newId(randomUUID()),
          this.host.bus,
          target,
          payload,
          {
            ...this.host.callOptions(req),
            timeout: this.host.options.streamTimeout,
            maxBufferedBytes: this.host.options.streamUnreadBytes,
          },
          owner,
          graceMs,
          this.host.options.streamReplayFrames,
          onEnded,
          this.host.options.streamReplayBytes,
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
    this.host.assertExposed(this.host.options.streamTargets, target, 'stream target');
    const payload = await this.host.readBody(req);
    target = await this.host.targetFor(req, target, 'stream', this.host.options.streamTargets);
    const s = this.newStream(req, target, payload, 0);
    const ch = this.host.openSse(res);
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
    const timer = setTimeout(open, Math.min(1000, this.host.options.heartbeatMs));
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
    this.host.assertExposed(this.host.options.streamTargets, target, 'stream target');
    const requested = target;
    target = await this.host.targetFor(req, target, 'stream', this.host.options.streamTargets);
    const last = lastEventId(req);
    if (last) {
      const existing = this.host.streams.findByEventId(last);
      // Its target is the one it started with: the requested one, or where a handoff sent the session then.
      if (existing && (existing.target === target || existing.target === requested) && existing.ownerKey === this.host.ownerKey(req))
        return this.attachStream(req, res, existing.id);
      // The EventSource may have reconnected through another replica than the one running its stream.
      const elsewhere =
        this.host.options.peerStreams && !existing ? await this.host.peers.find(last, target, this.host.ownerKey(req)) : undefined;
      const replica = elsewhere && this.host.peers.remoteReplica(elsewhere);
      if (replica) return this.attachRemote(req, res, replica, elsewhere!);
      throw new GatewayHttpError(ErrorCodes.NO_HANDLER, `no stream of "${target}" has frame ${last}`);
    }
    const raw = typeof req.query?.payload === 'string' ? req.query.payload : undefined;
    if (raw && Buffer.byteLength(raw) > this.host.options.bodyLimit) {
      throw new GatewayHttpError(ErrorCodes.INVALID_REQUEST, `payload exceeds the limit of ${this.host.options.bodyLimit} bytes`, 413);
    }
    const payload = raw === undefined ? undefined : parseJson(raw);
    const s = this.newStream(req, target, payload, this.host.options.detachGraceMs);
    const ch = this.host.openSse(res);
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
    this.host.assertExposed(this.host.options.streamTargets, target, 'stream target');
    const payload = await this.host.readBody(req);
    target = await this.host.targetFor(req, target, 'stream', this.host.options.streamTargets);
    const s = this.newStream(req, target, payload, this.host.options.detachGraceMs);
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
    const s = this.host.streams.get(id);
    if (!s || s.ownerKey !== this.host.ownerKey(req)) throw new GatewayHttpError(ErrorCodes.NO_HANDLER, `no stream "${id}"`);
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
    const ch = this.host.openSse(res);
    ch.open({ 'x-stream-id': s.id });
    const detach = s.attach((frame) => this.writeFrame(ch, frame), last);
    ch.onClose(detach);
  }

  /** DELETE /v1/streams/{id} → 204: cancels the stream (the agent's handler is aborted), on whichever replica runs it. */
  async cancelStream(req: GatewayRequest, res: ServerResponse, id: string): Promise<void> {
    const replica = this.remoteReplica(id);
    if (replica) {
      await this.host.peers.cancel(replica, { id, owner: this.host.ownerKey(req) }).catch((err: unknown) => {
        throw noStreamIfUnknown(err, id);
      });
    } else this.findStream(req, id).cancel('cancelled by the client');
    res.statusCode = 204;
    res.end();
  }

  /** The replica that runs stream `id`, when it is another one and replicas share streams. */
  private remoteReplica(id: string): string | undefined {
    return this.host.options.peerStreams && !this.host.streams.get(id) ? this.host.peers.remoteReplica(id) : undefined;
  }

  /**
   * GET /v1/streams/{id} for a stream another replica runs: its frames come over the bus (PeerStreams) and go
   * out as SSE exactly as a local attach sends them; closing the connection detaches there.
   */
  private async attachRemote(req: GatewayRequest, res: ServerResponse, replica: string, id: string): Promise<void> {
    const call = this.host.peers.attach(replica, { id, owner: this.host.ownerKey(req), last_event_id: lastEventId(req) });
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
    const ch = this.host.openSse(res);
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
