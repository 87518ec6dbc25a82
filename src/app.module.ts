import { Module, type DynamicModule, type Type } from '@nestjs/common';
import { BusModule } from '@openagentio/nestjs';
import { BridgeModule, GatewayModule } from '@openagentio/nestjs-bridges';
import { EventLogAgent } from './agents/event-log.agent.js';
import { RouterAgent } from './agents/router.agent.js';
import { WorkerAgent } from './agents/worker.agent.js';
import { WriterAgent } from './agents/writer.agent.js';
import { DemoController } from './demo.controller.js';
import { ObservabilityModule } from './observability/observability.module.js';

/**
 * Which agents this process runs: `AGENTS` is a comma-separated list of `router` (the router agent, the HTTP
 * entry points and the event log), `workers` and `writer`; default all of them. With NATS_URL set, processes
 * started with different AGENTS form one application over NATS (see README, "Across processes").
 */
export function selectedAgents(env: NodeJS.ProcessEnv = process.env): { controllers: Type[]; providers: Type[]; imports: DynamicModule[] } {
  const roles = new Set(
    (env.AGENTS ?? 'router,workers,writer')
      .split(',')
      .map((r) => r.trim())
      .filter(Boolean),
  );
  for (const r of roles) {
    if (!['router', 'workers', 'writer'].includes(r)) throw new Error(`AGENTS: unknown role "${r}" (use router, workers, writer)`);
  }
  const controllers: Type[] = [];
  const providers: Type[] = [];
  const imports: DynamicModule[] = [];
  if (roles.has('router')) {
    controllers.push(DemoController, RouterAgent);
    providers.push(EventLogAgent);
    imports.push(
      // The browser/web-app gateway (docs/gateway.md): the demo page streams from `writer` and follows the
      // session's demo.* events; any OpenAI client pointed at http://localhost:3000/v1 can use model "writer".
      GatewayModule.forRoot({
        invokeTargets: ['router.ask', 'worker.>', 'mcp.everything.>'],
        streamTargets: ['writer'],
        subscribeEvents: ['demo.>'],
        openai: { models: { writer: 'writer' } },
        errorPayloadPaths: ['/demo/'],
      }),
      // bridges.yaml: the MCP "everything" server's tools as bus targets (docs/bridges.md, docs/mcp.md).
      BridgeModule.forRoot({ config: env.BRIDGES_FILE ?? 'bridges.yaml' }),
    );
  }
  if (roles.has('workers')) controllers.push(WorkerAgent);
  if (roles.has('writer')) controllers.push(WriterAgent);
  return { controllers, providers, imports };
}

const agents = selectedAgents();

/** The demo: four agents on one bus. With NATS_URL set they talk over that NATS server, else in memory. */
@Module({
  imports: [BusModule.forRoot({ agentId: process.env.AGENT_ID ?? 'demo' }), ObservabilityModule.forRoot(), ...agents.imports],
  controllers: agents.controllers,
  providers: agents.providers,
})
export class AppModule {}
