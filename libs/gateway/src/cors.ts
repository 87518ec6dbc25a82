import type { ServerResponse } from 'node:http';
import type { GatewayRequest } from './gateway-auth.js';
import type { ResolvedGatewayOptions } from './gateway.options.js';

/** Sets the CORS headers the gateway's `cors` option allows, and answers a preflight: true when it was answered. */
export function applyCors(cors: ResolvedGatewayOptions['cors'], req: GatewayRequest, res: ServerResponse): boolean {
  const origin = req.headers.origin;
  const preflight = req.method === 'OPTIONS';
  if (cors && typeof origin === 'string' && (cors.origins === '*' || cors.origins.includes(origin))) {
    res.setHeader('access-control-allow-origin', cors.origins === '*' && !cors.credentials ? '*' : origin);
    res.setHeader('vary', 'Origin');
    if (cors.credentials) res.setHeader('access-control-allow-credentials', 'true');
    res.setHeader('access-control-expose-headers', 'X-Stream-Id, X-Correlation-Id, X-Event-Id');
    if (preflight) {
      res.setHeader('access-control-allow-methods', 'GET, POST, DELETE, OPTIONS');
      const asked = req.headers['access-control-request-headers'];
      res.setHeader(
        'access-control-allow-headers',
        typeof asked === 'string' && asked
          ? asked
          : 'Authorization, Content-Type, Last-Event-ID, X-Session-Id, X-Conversation-Id, X-Tenant-Id, X-User-Id, X-Channel, X-Trace-Id, X-Traceparent, traceparent, tracestate, baggage',
      );
      res.setHeader('access-control-max-age', String(cors.maxAge ?? 600));
    }
  }
  if (preflight) {
    res.statusCode = 204;
    res.end();
    return true;
  }
  return false;
}
