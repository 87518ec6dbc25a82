import { Module, type DynamicModule, type Type } from '@nestjs/common';
import { BusModule, TasksModule, type TasksModuleOptions } from '@openagentio/nestjs';
import { BridgeModule } from '@openagentio/nestjs-bridges';
import { ConsoleModule, GatewayModule } from '@openagentio/nestjs-gateway';
import { BillingAgent } from './agents/billing.agent.js';
import { EventLogAgent } from './agents/event-log.agent.js';
import { ReportAgent } from './agents/report.agent.js';
import { RouterAgent } from './agents/router.agent.js';
import { TriageAgent } from './agents/triage.agent.js';
import { WorkerAgent } from './agents/worker.agent.js';
import { WriterAgent } from './agents/writer.agent.js';
import { DemoController } from './demo.controller.js';
import { ObservabilityModule } from './observability/observability.module.js';

/**
 * Where the demo's async tasks live (docs/tasks.md): in memory on the embedded bus; on JetStream when the demo runs
 * on NATS (NATS_URL), so the router's gateway and the workers in other processes share them and a task outlives a
 * worker that dies. `TASKS_STORE=memory|jetstream` overrides that (memory on NATS: one process only);
 * `TASKS_ACK_WAIT_MS` is how long a lost worker's run waits before another worker takes it (JetStream; default 30 s).
 */
export function tasksOptions(env: NodeJS.ProcessEnv = process.env): TasksModuleOptions {
  const store = env.TASKS_STORE?.trim() || (env.NATS_URL?.trim() ? 'jetstream' : 'memory');
  if (store !== 'memory' && store !== 'jetstream') throw new Error(`TASKS_STORE: unknown store "${store}" (use memory or jetstream)`);
  if (store === 'memory') return { store };
  const ackWait = env.TASKS_ACK_WAIT_MS?.trim();
  if (!ackWait) return { store };
  const ackWaitMs = Number(ackWait);
  if (!Number.isInteger(ackWaitMs) || ackWaitMs < 300)
    throw new Error(`TASKS_ACK_WAIT_MS: "${ackWait}" is not a number of ms (300 or more)`);
  return { store, jetstream: { ackWaitMs } };
}

/**
 * Which agents this process runs: `AGENTS` is a comma-separated list of `router` (the router agent, the HTTP
 * entry points and the event log), `workers` (the workers and the report task), `writer` and `desk` (the triage and
 * billing agents the page talks to); default all of them. With NATS_URL set, processes
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
        // The page's "Report task" panel: POST /v1/agents/report.build/tasks, then GET /v1/tasks/{id}/events.
        taskTargets: ['report.build'],
        subscribeEvents: ['demo.>'],
        openai: { models: { triage: 'triage', writer: 'writer' } },
        errorPayloadPaths: ['/demo/'],
        followHandoffs: true,
      }),
      // The operator's console at /console (docs/console.md): the agents of every process, their calls, traffic and
      // tasks, behind the gateway's authentication.
      ConsoleModule.forRoot({
        path: 'console',
        ...(env.CONSOLE_REFRESH_MS ? { refreshMs: Number(env.CONSOLE_REFRESH_MS) } : {}),
        ...(env.CONSOLE_TRACE_URL ? { traceUrl: env.CONSOLE_TRACE_URL } : {}),
      }),
      // bridges.yaml: the MCP "everything" server's tools as bus targets (docs/bridges.md, docs/mcp.md).
      BridgeModule.forRoot({ config: env.BRIDGES_FILE ?? 'bridges.yaml' }),
    );
  }
  if (roles.has('workers')) {
    controllers.push(WorkerAgent);
    providers.push(ReportAgent);
  }
  // The gateway submits and follows tasks, the workers run them; the writer and desk need no task store.
  if (roles.has('router') || roles.has('workers')) imports.push(TasksModule.forRootAsync({ useFactory: () => tasksOptions(env) }));
  if (roles.has('writer')) controllers.push(WriterAgent);
  if (roles.has('desk')) controllers.push(TriageAgent, BillingAgent);
  return { controllers, providers, imports };
}

/**
 * The targets the selected roles call (invoke, stream, task submit): declared, so that the NATS permissions
 * `npx openagentio nats-permissions` generates allow these and no others (docs/security.md). The router's gateway
 * calls what it exposes, and the other gateway replicas.
 */
export function declaredCalls(env: NodeJS.ProcessEnv = process.env): string[] {
  const roles = (env.AGENTS ?? 'router,workers,writer,desk').split(',').map((r) => r.trim());
  const calls = new Set<string>();
  const add = (...targets: string[]) => targets.forEach((t) => calls.add(t));
  if (roles.includes('router'))
    add('router.ask', 'worker.*', 'writer', 'triage', 'billing', 'mcp.everything.>', 'report.build', 'gateway.peer.>');
  if (roles.includes('desk')) add('worker.*', 'writer', 'triage', 'billing');
  return [...calls];
}

const agents = selectedAgents();

/** The demo: its agents on one bus. With NATS_URL set they talk over that NATS server, else in memory. */
@Module({
  // Discovery on in memory too (it is on over NATS anyway): the console finds the agents through it; `control` lets
  // it drain and resume an instance (docs/discovery.md, "Drain": restrict $SRV.DRAIN.> with NATS permissions).
  imports: [
    BusModule.forRoot({ agentId: process.env.AGENT_ID ?? 'demo', calls: declaredCalls(), discovery: { control: true } }),
    ObservabilityModule.forRoot(),
    ...agents.imports,
  ],
  controllers: agents.controllers,
  providers: agents.providers,
})
export class AppModule {}
