import type { ServerResponse } from 'node:http';
import { ErrorCodes } from '@openagentio/nestjs';
import { assertPattern } from '@openagentio/nestjs/internal/protocol/subjects.js';
import type { GatewayRequest } from './gateway-auth.js';
import { lastEventId, type GatewayEndpointHost } from './gateway-endpoint-host.js';
import { GatewayHttpError } from './gateway-errors.js';
import { patternCovers } from './event-hub.js';

/** The gateway's event endpoints: publish (`POST /v1/events/{event_type}`) and the SSE feed (`GET /v1/events`). */
export class GatewayEventEndpoints {
  constructor(private readonly host: GatewayEndpointHost) {}

  /** POST /v1/events/{event_type} → 202 `{event_id}`. */
  async publish(req: GatewayRequest, res: ServerResponse, eventType: string): Promise<void> {
    this.host.assertExposed(this.host.options.publishEvents, eventType, 'event type');
    const payload = await this.host.readBody(req);
    const env = await this.host.bus.publish(eventType, payload, this.host.callOptions(req));
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
    if (!this.host.options.subscribeEvents.some((a) => patternCovers(a, pattern))) {
      throw new GatewayHttpError(ErrorCodes.NO_HANDLER, `event pattern "${pattern}" is not exposed by this gateway`);
    }
    const opts = this.host.callOptions(req);
    const sessionQ = typeof req.query?.session_id === 'string' && req.query.session_id ? req.query.session_id : undefined;
    const filter = { tenant_id: opts.tenant_id, session_id: sessionQ ?? opts.session_id };
    if (filter.tenant_id === undefined) delete filter.tenant_id;
    if (filter.session_id === undefined) delete filter.session_id;
    const ch = this.host.openSse(res);
    ch.open();
    // `named=false` leaves out the `event:` field so an EventSource's onmessage sees every event type.
    const named = req.query?.named !== 'false' && req.query?.named !== '0';
    const detach = this.host.events.attach(pattern, filter, lastEventId(req), (env) => ch.send(env, named));
    ch.onClose(detach);
  }
}
