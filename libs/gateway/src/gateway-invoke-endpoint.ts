import type { ServerResponse } from 'node:http';
import { BusError, ErrorCodes, EventTypes } from '@openagentio/nestjs';
import type { GatewayRequest } from './gateway-auth.js';
import type { GatewayEndpointHost } from './gateway-endpoint-host.js';
import { onClientGone } from './sse.js';

/** The gateway's request/reply endpoint: `POST /v1/agents/{target}/invoke`. */
export class GatewayInvokeEndpoint {
  constructor(private readonly host: GatewayEndpointHost) {}

  /** POST /v1/agents/{target}/invoke → 200 with the reply payload, 204 without one. Disconnect cancels. */
  async invoke(req: GatewayRequest, res: ServerResponse, target: string): Promise<void> {
    const { options, bus } = this.host;
    this.host.assertExposed(options.invokeTargets, target, 'invoke target');
    const payload = await this.host.readBody(req);
    target = await this.host.targetFor(req, target, 'invoke', options.invokeTargets);
    const ac = new AbortController();
    onClientGone(res, () =>
      ac.abort(
        new BusError(ErrorCodes.AGENT_UNAVAILABLE, 'HTTP client disconnected', { retryable: false, cause: { reason: 'cancelled' } }),
      ),
    );
    const reply = await bus.invokeEnvelope(target, payload, {
      ...this.host.callOptions(req),
      timeout: options.invokeTimeout,
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
}
