import { Module, type DynamicModule, type Type } from '@nestjs/common';
import { BusModule } from '@openagentio/nestjs';
import { BridgeModule, GatewayModule } from '@openagentio/nestjs-bridges';
import { BillingAgent } from './agents/billing.agent.js';
import { EventLogAgent } from './agents/event-log.agent.js';
import { RouterAgent } from './agents/router.agent.js';
import { TriageAgent } from './agents/triage.agent.js';
import { WorkerAgent } from './agents/worker.agent.js';
import { WriterAgent } from './agents/writer.agent.js';
import { DemoController } from './demo.controller.js';
import { ObservabilityModule } from './observability/observability.module.js';

/**
 * Which agents this process runs: `AGENTS` is a comma-separated list of `router` (the router agent, the HTTP
 * entry points and the event log), `workers`, `writer` and `desk` (the triage and billing agents the page talks to);
 * default all of them. With NATS_URL set, processes
 * started with different AGENTS form one application over NATS (see README, "Across processes").
 */
export function selectedAgents(env: NodeJS.ProcessEnv = process.env): { controllers: Type[]; providers: Type[]; imports: DynamicModule[] } {
  const roles = new Set(
    (env.AGENTS ?? 'router,workers,writer,desk')
      .split(',')
      .map((r) => r.trim())
      .filter(Boolean),
  );
  for (const r of roles) {
    if (!['router', 'workers', 'writer', 'desk'].includes(r))
      throw new Error(`AGENTS: unknown role "${r}" (use router, workers, writer, desk)`);
  }
  const controllers: Type[] = [];
  const providers: Type[] = [];
  const imports: DynamicModule[] = [];
  if (roles.has('router')) {
    controllers.push(DemoController, RouterAgent);
    providers.push(EventLogAgent);
    imports.push(
      // The browser/web-app gateway (docs/gateway.md): the demo page talks to `triage` and follows the session's
      // demo.* events; after triage hands a session to `billing`, that session's turns go to billing
      // (followHandoffs, docs/orchestration.md). Any OpenAI client pointed at http://localhost:3000/v1 can use the
      // models "triage" and "writer".
      GatewayModule.forRoot({
        invokeTargets: ['router.ask', 'worker.>', 'mcp.everything.>'],
        streamTargets: ['triage', 'billing', 'writer'],
        subscribeEvents: ['demo.>'],
        openai: { models: { triage: 'triage', writer: 'writer' } },
        errorPayloadPaths: ['/demo/'],
        followHandoffs: true,
      }),
      // bridges.yaml: the MCP "everything" server's tools as bus targets (docs/bridges.md, docs/mcp.md).
      BridgeModule.forRoot({ config: env.BRIDGES_FILE ?? 'bridges.yaml' }),
    );
  }
  if (roles.has('workers')) controllers.push(WorkerAgent);
  if (roles.has('writer')) controllers.push(WriterAgent);
  if (roles.has('desk')) controllers.push(TriageAgent, BillingAgent);
  return { controllers, providers, imports };
}

const agents = selectedAgents();

/** The demo: its agents on one bus. With NATS_URL set they talk over that NATS server, else in memory. */
@Module({
  imports: [BusModule.forRoot({ agentId: process.env.AGENT_ID ?? 'demo' }), ObservabilityModule.forRoot(), ...agents.imports],
  controllers: agents.controllers,
  providers: agents.providers,
})
export class AppModule {}
