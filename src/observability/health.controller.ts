import { Controller, Get, Inject, Res } from '@nestjs/common';
import type { ServerResponse } from 'node:http';
import { BusHealthIndicator } from '@openagentio/nestjs';

/**
 * `GET /health`: the bus health indicator (plus bridge health when a BridgeModule is loaded), in the
 * `@nestjs/terminus` response shape: 200 `{ status: 'ok', info, error: {}, details }` when up, 503 with
 * `status: 'error'` when down. With terminus installed, use HealthCheckService instead (docs/observability.md).
 */
@Controller()
export class HealthController {
  constructor(@Inject(BusHealthIndicator) private readonly indicator: BusHealthIndicator) {}

  @Get('health')
  health(@Res({ passthrough: true }) res: ServerResponse) {
    const details = this.indicator.check('bus');
    const up = details.bus.status === 'up';
    res.statusCode = up ? 200 : 503;
    return { status: up ? 'ok' : 'error', info: up ? details : {}, error: up ? {} : details, details };
  }
}
