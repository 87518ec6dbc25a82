import { Injectable, type NestMiddleware } from '@nestjs/common';
import type { ServerResponse } from 'node:http';
import type { GatewayRequest } from './gateway-auth.js';
import { GatewayService } from './gateway.service.js';

/**
 * The gateway's CORS, applied by GatewayModule to its routes: it runs before the auth guard, so a preflight (which
 * carries no credentials) is answered here and never reaches a route.
 */
@Injectable()
export class GatewayCorsMiddleware implements NestMiddleware {
  constructor(private readonly gateway: GatewayService) {}

  use(req: GatewayRequest, res: ServerResponse, next: () => void): void {
    if (!this.gateway.applyCors(req, res)) next();
  }
}
