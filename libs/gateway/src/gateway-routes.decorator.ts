import { applyDecorators, Controller, UseFilters, UseGuards, type ExceptionFilter, type Type } from '@nestjs/common';
import { GatewayAuthGuard } from './gateway-auth.js';
import { GatewayRoutesFilter } from './gateway-routes.filter.js';
import { GatewayQuotaGuard } from './quota/quota.guard.js';

/** How a gateway controller is mounted; by default under `v1`, behind the auth guard, its errors as ErrorPayloads. */
export interface GatewayRoutesOptions {
  /** The controller's path. Default `v1`. */
  path?: string;
  /** The filter that answers what its routes throw. Default GatewayRoutesFilter (acp/1.0 ErrorPayloads). */
  filter?: Type<ExceptionFilter>;
  /** false for routes anyone may read without credentials (the agent card). Default true. */
  auth?: boolean;
}

/**
 * Makes a class one of the gateway's controllers, as all of them are: its path, the auth guard then the quota guard
 * (which charges only routes marked with `@QuotaFor`), and one exception filter. CORS is not here: GatewayModule applies GatewayCorsMiddleware to these controllers.
 */
export function GatewayRoutes(options: GatewayRoutesOptions = {}): ClassDecorator {
  const { path = 'v1', filter = GatewayRoutesFilter, auth = true } = options;
  return applyDecorators(Controller(path), ...(auth ? [UseGuards(GatewayAuthGuard, GatewayQuotaGuard)] : []), UseFilters(filter));
}
