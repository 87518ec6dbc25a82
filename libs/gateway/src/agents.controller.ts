import { Get, Req, Res } from '@nestjs/common';
import type { ServerResponse } from 'node:http';
import { AgentDirectoryService } from './agent-directory.service.js';
import type { GatewayRequest } from './gateway-auth.js';
import { GatewayRoutes } from './gateway-routes.decorator.js';

/**
 * The A2A agent card, at the well-known path A2A clients fetch without credentials (it lists only what the gateway
 * exposes anyway; calling any of it still goes through the gateway's auth).
 */
@GatewayRoutes({ path: '.well-known', auth: false })
export class AgentCardController {
  constructor(private readonly agents: AgentDirectoryService) {}

  @Get('agent-card.json')
  async card(@Req() req: GatewayRequest, @Res() res: ServerResponse) {
    this.agents.json(res, await this.agents.agentCard(req));
  }
}

/** `GET /v1/agents`: the agents behind the gateway and the targets of theirs it exposes. */
@GatewayRoutes()
export class AgentsController {
  constructor(private readonly agents: AgentDirectoryService) {}

  @Get('agents')
  async list(@Req() req: GatewayRequest, @Res() res: ServerResponse) {
    this.agents.json(res, { agents: await this.agents.agents() });
  }
}
