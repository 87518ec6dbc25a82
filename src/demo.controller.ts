import { Body, Controller, Get, Headers, HttpCode, Post, UseFilters } from '@nestjs/common';
import { BusClient } from '@openagentio/nestjs';
import { ErrorPayloadFilter } from '@openagentio/nestjs-gateway';
import { EventLogAgent } from './agents/event-log.agent.js';

/**
 * HTTP entry points of the demo: ask the router agent, and look at the events it published. Errors answer as the
 * gateway's do (ErrorPayload bodies); the gateway's `errorPayloadPaths: ['/demo/']` covers bad JSON and oversize
 * bodies, which fail before any filter.
 */
@Controller('demo')
@UseFilters(ErrorPayloadFilter)
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

  /** The targets this process serves, less internal plumbing (the gateway's gateway.peer.* for its replicas). */
  @Get('health')
  health() {
    const targets = this.bus.served.filter((t) => !t.about.internal).map((t) => t.target);
    return { bus: this.bus.isConnected ? 'connected' : 'disconnected', transport: this.bus.transport.kind, targets };
  }
}
