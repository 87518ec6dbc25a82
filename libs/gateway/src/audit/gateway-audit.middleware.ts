import { Inject, Injectable, type NestMiddleware } from '@nestjs/common';
import { logs, SeverityNumber, type Attributes, type Logger } from '@opentelemetry/api';
import type { ServerResponse } from 'node:http';
import { AUDIT_LOGGER } from '@openagentio/nestjs';
import { IDENTITY_KEY, type GatewayRequest } from '../gateway-auth.js';
import type { GatewayModuleOptions } from '../gateway.options.js';
import { GATEWAY_MODULE_OPTIONS } from '../gateway.module-definition.js';

/** `eventName` of the record of a gateway request. */
export const AUDIT_EVENT_GATEWAY = 'acp.audit.gateway';

/** The acp/1.0 code a gateway status stands for (docs/gateway.md, "Errors"). */
const CODE_OF_STATUS: Record<number, string> = {
  400: 'INVALID_REQUEST',
  401: 'AUTH_FAILURE',
  404: 'NO_HANDLER',
  413: 'INVALID_REQUEST',
  429: 'BACKPRESSURE_DROP',
  500: 'AGENT_UNAVAILABLE',
  502: 'AGENT_UNAVAILABLE',
  504: 'AGENT_TIMEOUT',
};

/** `/v1/agents/{target}/{op}`: the target a request names. */
const AGENT_PATH = /^\/(?:[^?]*\/)?v1\/agents\/([^/?]+)\/[^/?]+/;
const TRACEPARENT = /^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$/;
const TRACE_ID = /^[0-9a-f]{32}$/;

/**
 * The gateway's audit trail (`audit: true`): one OpenTelemetry log record per request once its response is done
 * (an SSE stream: when the connection ends), refused ones included (401, 429). Who (the authenticated identity),
 * what (method, path without its query string, which may hold an access token, and target), how it ended
 * (status, outcome), how long, and the trace id. Never the body of the request or of the response.
 */
@Injectable()
export class GatewayAuditMiddleware implements NestMiddleware {
  private readonly logger?: Logger;

  constructor(@Inject(GATEWAY_MODULE_OPTIONS) options: GatewayModuleOptions) {
    if (options.audit) this.logger = logs.getLogger(AUDIT_LOGGER);
  }

  use(req: GatewayRequest, res: ServerResponse, next: () => void): void {
    const logger = this.logger;
    if (!logger || req.method === 'OPTIONS') return next();
    const started = performance.now();
    res.once('close', () => logger.emit(record(req, res, performance.now() - started)));
    next();
  }
}

function record(req: GatewayRequest, res: ServerResponse, ms: number): Parameters<Logger['emit']>[0] {
  const url = req.originalUrl ?? req.url ?? '';
  const q = url.indexOf('?');
  const path = q < 0 ? url : url.slice(0, q);
  const status = res.statusCode;
  const aborted = !res.writableFinished;
  const outcome = aborted && status < 400 ? 'aborted' : status < 400 ? 'ok' : (CODE_OF_STATUS[status] ?? `HTTP_${status}`);
  const attributes: Attributes = {
    'acp.audit.source': 'gateway',
    'http.request.method': req.method ?? '',
    'url.path': path,
    'http.response.status_code': status,
    'acp.outcome': outcome,
    'acp.duration_ms': Math.round(ms * 1000) / 1000,
  };
  const target = AGENT_PATH.exec(path)?.[1];
  if (target) attributes['acp.target'] = safeDecode(target);
  const id = req[IDENTITY_KEY];
  if (id?.tenant_id) attributes['acp.tenant_id'] = id.tenant_id;
  if (id?.user_id) attributes['acp.user_id'] = id.user_id;
  if (id?.subject) attributes['acp.subject'] = id.subject;
  const traceId = traceIdOf(req);
  if (traceId) attributes['acp.trace_id'] = traceId;
  const failed = outcome !== 'ok';
  return {
    eventName: AUDIT_EVENT_GATEWAY,
    severityNumber: failed ? SeverityNumber.WARN : SeverityNumber.INFO,
    severityText: failed ? 'WARN' : 'INFO',
    body: `${req.method} ${path} by ${id?.subject ?? id?.user_id ?? 'anonymous'}: ${status}`,
    attributes,
  };
}

function traceIdOf(req: GatewayRequest): string | undefined {
  const h = (name: string): string | undefined => {
    const v = req.headers[name];
    return typeof v === 'string' ? v.trim().toLowerCase() : undefined;
  };
  const tp = h('x-traceparent') ?? h('traceparent');
  const fromTp = tp ? TRACEPARENT.exec(tp)?.[1] : undefined;
  if (fromTp) return fromTp;
  const tid = h('x-trace-id');
  return tid && TRACE_ID.test(tid) ? tid : undefined;
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
