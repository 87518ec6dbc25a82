import { Body, Controller, Get, Headers, HttpCode, Post } from '@nestjs/common';
import { BusClient } from '@openagentio/nestjs';
import { EventLogAgent } from './agents/event-log.agent.js';

/** HTTP entry points of the demo: ask the router agent, and look at the events it published. */
@Controller('demo')
export class DemoController {
  constructor(
    private readonly bus: BusClient,
    private readonly events: EventLogAgent,
  ) {}

  @Post('ask')
  @HttpCode(200)
  ask(@Body() body: { text?: string }, @Headers('x-session-id') sessionId?: string) {
    return this.bus.invoke('router.ask', { text: body?.text }, { session_id: sessionId || `sess_${Date.now().toString(36)}` });
  }

  @Get('events')
  recent() {
    return this.events.recent;
  }

  @Get('health')
  health() {
    return { bus: this.bus.isConnected ? 'connected' : 'disconnected', transport: this.bus.transport.kind, targets: this.bus.targets };
  }
}
