import { Delete, Get, Param, Post, Req, Res } from '@nestjs/common';
import type { ServerResponse } from 'node:http';
import { A2aJsonRpcService } from './a2a-jsonrpc.service.js';
import type { GatewayRequest } from './gateway-auth.js';
import { GatewayRoutes } from './gateway-routes.decorator.js';
import { TaskGatewayService } from './task-gateway.service.js';
import { QuotaFor } from './quota/quota.decorator.js';

/**
 * The task routes (docs/tasks.md, "Gateway and A2A"). Always mounted: without a TaskClient in the application (TasksModule)
 * they answer 404 NO_HANDLER saying so.
 */
@GatewayRoutes()
export class TasksController {
  constructor(private readonly tasks: TaskGatewayService) {}

  @Post('agents/:target/tasks')
  @QuotaFor('task')
  submit(@Req() req: GatewayRequest, @Res() res: ServerResponse, @Param('target') target: string) {
    return this.tasks.submit(req, res, target);
  }

  @Get('tasks')
  list(@Req() req: GatewayRequest, @Res() res: ServerResponse) {
    return this.tasks.list(req, res);
  }

  @Get('tasks/:id')
  get(@Req() req: GatewayRequest, @Res() res: ServerResponse, @Param('id') id: string) {
    return this.tasks.get(req, res, id);
  }

  @Delete('tasks/:id')
  cancel(@Req() req: GatewayRequest, @Res() res: ServerResponse, @Param('id') id: string) {
    return this.tasks.cancel(req, res, id);
  }

  @Post('tasks/:id/messages')
  @QuotaFor('task')
  send(@Req() req: GatewayRequest, @Res() res: ServerResponse, @Param('id') id: string) {
    return this.tasks.send(req, res, id);
  }

  @Get('tasks/:id/events')
  events(@Req() req: GatewayRequest, @Res() res: ServerResponse, @Param('id') id: string) {
    return this.tasks.events(req, res, id);
  }
}

/** A2A JSON-RPC over the tasks (`POST /v1/a2a`), enabled by the gateway's `a2a` option. */
@GatewayRoutes()
export class A2aController {
  constructor(private readonly a2a: A2aJsonRpcService) {}

  @Post('a2a')
  async rpc(@Req() req: GatewayRequest, @Res() res: ServerResponse) {
    await this.a2a.handle(req, res);
  }
}
