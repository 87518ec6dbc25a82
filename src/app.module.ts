import { Module } from '@nestjs/common';
import { BusModule } from '../libs/bus/src/index.js';
import { EventLogAgent } from './agents/event-log.agent.js';
import { RouterAgent } from './agents/router.agent.js';
import { WorkerAgent } from './agents/worker.agent.js';
import { WriterAgent } from './agents/writer.agent.js';
import { DemoController } from './demo.controller.js';

/**
 * The demo: four agents on one bus. With NATS_URL set they talk over that NATS server, else in memory.
 */
@Module({
  imports: [BusModule.forRoot({ agentId: process.env.AGENT_ID ?? 'demo' })],
  controllers: [DemoController, RouterAgent, WorkerAgent, WriterAgent],
  providers: [EventLogAgent],
})
export class AppModule {}
