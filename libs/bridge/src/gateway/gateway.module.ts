import { Module } from '@nestjs/common';
import { GatewayAuthGuard } from './gateway-auth.js';
import { GatewayExceptionFilter } from './gateway-errors.js';
import { GatewayController, OpenAiCompatController } from './gateway.controller.js';
import { GatewayConfigurableModule } from './gateway.options.js';
import { GatewayService } from './gateway.service.js';
import { OpenAiCompatService } from './openai-compat.service.js';

/**
 * Browser / web-app gateway: PROTOCOL §5 endpoints, resumable SSE streams and event feeds, and an
 * OpenAI-compatible API over bus stream targets. Exposes nothing unless configured:
 *
 * @example
 * GatewayModule.forRoot({ streamTargets: ['writer'], subscribeEvents: ['demo.>'], auth: { bearerTokens: { t1: { tenant_id: 'acme', user_id: 'ann' } } } })
 */
@Module({
  controllers: [GatewayController, OpenAiCompatController],
  providers: [GatewayService, OpenAiCompatService, GatewayAuthGuard, GatewayExceptionFilter],
  exports: [GatewayService, OpenAiCompatService],
})
export class GatewayModule extends GatewayConfigurableModule {}
