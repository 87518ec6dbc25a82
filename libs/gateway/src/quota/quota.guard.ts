import { Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { ServerResponse } from 'node:http';
import type { GatewayRequest } from '../gateway-auth.js';
import { QUOTA_KIND } from './quota.decorator.js';
import type { QuotaKind } from './quota-options.js';
import { QuotaService } from './quota.service.js';

/**
 * Counts a request against the quota its route names (`@QuotaFor`), after GatewayAuthGuard has set the identity.
 * An EventSource reconnecting to `GET …/stream` with `Last-Event-ID` resumes a stream rather than opening one, and
 * is not counted: a 429 there would make the browser stop reconnecting for good.
 */
@Injectable()
export class GatewayQuotaGuard implements CanActivate {
  constructor(
    private readonly quotas: QuotaService,
    private readonly reflector: Reflector,
  ) {}

  canActivate(context: ExecutionContext): boolean {
    if (!this.quotas.active) return true;
    const kind = this.reflector.get<QuotaKind | undefined>(QUOTA_KIND, context.getHandler());
    if (!kind) return true;
    const http = context.switchToHttp();
    const req = http.getRequest<GatewayRequest>();
    if (req.method === 'OPTIONS' || (req.method === 'GET' && resumes(req))) return true;
    this.quotas.check(kind, req, http.getResponse<ServerResponse>());
    return true;
  }
}

/**
 * Whether a GET names a frame to resume after (the `Last-Event-ID` header or `?last_event_id=`, non-empty, as the
 * stream route reads it): then the route resumes a stream or answers 404, and never opens one.
 */
function resumes(req: GatewayRequest): boolean {
  const h = req.headers['last-event-id'];
  if (typeof h === 'string' && h) return true;
  const q = req.query?.last_event_id;
  return typeof q === 'string' && q !== '';
}
