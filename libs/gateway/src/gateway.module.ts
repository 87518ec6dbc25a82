import { Inject, Module, RequestMethod, type MiddlewareConsumer, type NestModule } from '@nestjs/common';
import { BusClient } from '@openagentio/nestjs';
import { AgentDirectoryService } from './agent-directory.service.js';
import { AgentCardController, AgentsController } from './agents.controller.js';
import { GatewayAuthGuard } from './gateway-auth.js';
import { GatewayCorsMiddleware } from './gateway-cors.middleware.js';
import { GatewayExceptionFilter } from './gateway-errors.js';
import { GatewayRoutesFilter, OpenAiRoutesFilter } from './gateway-routes.filter.js';
import { GatewayController, OpenAiCompatController } from './gateway.controller.js';
import { GATEWAY_MODULE_OPTIONS, GatewayConfigurableModule } from './gateway.module-definition.js';
import type { GatewayModuleOptions } from './gateway.options.js';
import { GatewayService } from './gateway.service.js';
import { OpenAiCompatService } from './openai-compat.service.js';
import { A2aJsonRpcService } from './a2a-jsonrpc.service.js';
import { TaskGatewayService } from './task-gateway.service.js';
import { TaskPushService } from './task-push.service.js';
import { A2aController, TasksController } from './tasks.controller.js';
import { GatewayAuditMiddleware } from './audit/gateway-audit.middleware.js';
import { GatewayQuotaGuard } from './quota/quota.guard.js';
import { QuotaService } from './quota/quota.service.js';

/** Where a browser's preflight is answered (no route serves OPTIONS: GatewayCorsMiddleware answers it). */
const PREFLIGHT_PATHS = [
  'v1/agents',
  'v1/agents/:target/:op',
  'v1/streams/:id',
  'v1/events',
  'v1/events/:eventType',
  'v1/chat/completions',
  'v1/models',
  'v1/tasks',
  'v1/tasks/:id',
  'v1/tasks/:id/:op',
  'v1/a2a',
  '.well-known/agent-card.json',
];

/**
 * Browser / web-app gateway: docs/protocol.md §5 endpoints, resumable SSE streams and event feeds, an OpenAI-compatible
 * API over bus stream targets, and an A2A agent card and `GET /v1/agents` listing what it exposes (found by
 * discovery); async tasks (with TasksModule in the application) and A2A JSON-RPC over them. Exposes nothing unless
 * configured:
 *
 * @example
 * GatewayModule.forRoot({ streamTargets: ['writer'], subscribeEvents: ['demo.>'], auth: { bearerTokens: { t1: { tenant_id: 'acme', user_id: 'ann' } } } })
 */
@Module({
  controllers: [GatewayController, OpenAiCompatController, AgentsController, AgentCardController, TasksController, A2aController],
  providers: [
    GatewayService,
    OpenAiCompatService,
    AgentDirectoryService,
    TaskGatewayService,
    A2aJsonRpcService,
    TaskPushService,
    GatewayAuthGuard,
    QuotaService,
    GatewayQuotaGuard,
    GatewayExceptionFilter,
    GatewayRoutesFilter,
    OpenAiRoutesFilter,
  ],
  exports: [GatewayService, OpenAiCompatService, AgentDirectoryService, TaskGatewayService, A2aJsonRpcService],
})
export class GatewayModule extends GatewayConfigurableModule implements NestModule {
  constructor(@Inject(BusClient) bus: BusClient, @Inject(GATEWAY_MODULE_OPTIONS) options: GatewayModuleOptions) {
    super();
    // What the gateway calls and subscribes to on clients' demand, declared for the generated NATS permissions.
    bus.declare({
      // `gateway.peer.>`: the other replicas' detached streams (peer-streams.ts).
      calls: [...(options.invokeTargets ?? []), ...(options.streamTargets ?? []), ...(options.taskTargets ?? []), 'gateway.peer.>'],
      subscribes: options.subscribeEvents ?? [],
    });
  }

  configure(consumer: MiddlewareConsumer): void {
    consumer
      .apply(GatewayCorsMiddleware)
      .forRoutes(
        GatewayController,
        OpenAiCompatController,
        AgentsController,
        AgentCardController,
        TasksController,
        A2aController,
        ...PREFLIGHT_PATHS.map((path) => ({ path, method: RequestMethod.OPTIONS })),
      );
    // Passes straight on unless the `audit` option is set.
    consumer
      .apply(GatewayAuditMiddleware)
      .forRoutes(GatewayController, OpenAiCompatController, AgentsController, AgentCardController, TasksController, A2aController);
  }
}
