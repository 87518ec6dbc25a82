import { Delete, Get, Param, Post, Req, Res } from '@nestjs/common';
import type { ServerResponse } from 'node:http';
import type { GatewayRequest } from './gateway-auth.js';
import { GatewayRoutes } from './gateway-routes.decorator.js';
import { OpenAiRoutesFilter } from './gateway-routes.filter.js';
import { GatewayService } from './gateway.service.js';
import { QuotaFor } from './quota/quota.decorator.js';
import { OpenAiCompatService } from './openai-compat.service.js';

/** The HTTP + SSE gateway routes (docs/protocol.md §5 and the resumable extensions). */
@GatewayRoutes()
export class GatewayController {
  constructor(private readonly gateway: GatewayService) {}

  @Post('agents/:target/invoke')
  @QuotaFor('invoke')
  invoke(@Req() req: GatewayRequest, @Res() res: ServerResponse, @Param('target') target: string) {
    return this.gateway.invoke(req, res, target);
  }

  @Post('agents/:target/stream')
  @QuotaFor('stream')
  stream(@Req() req: GatewayRequest, @Res() res: ServerResponse, @Param('target') target: string) {
    return this.gateway.stream(req, res, target);
  }

  @Get('agents/:target/stream')
  @QuotaFor('stream')
  streamFromGet(@Req() req: GatewayRequest, @Res() res: ServerResponse, @Param('target') target: string) {
    return this.gateway.streamFromGet(req, res, target);
  }

  @Post('agents/:target/streams')
  @QuotaFor('stream')
  startDetached(@Req() req: GatewayRequest, @Res() res: ServerResponse, @Param('target') target: string) {
    return this.gateway.startDetached(req, res, target);
  }

  @Get('streams/:id')
  attach(@Req() req: GatewayRequest, @Res() res: ServerResponse, @Param('id') id: string) {
    return this.gateway.attachStream(req, res, id);
  }

  @Delete('streams/:id')
  cancel(@Req() req: GatewayRequest, @Res() res: ServerResponse, @Param('id') id: string) {
    return this.gateway.cancelStream(req, res, id);
  }

  @Post('events/:eventType')
  publish(@Req() req: GatewayRequest, @Res() res: ServerResponse, @Param('eventType') eventType: string) {
    return this.gateway.publish(req, res, eventType);
  }

  @Get('events')
  subscribe(@Req() req: GatewayRequest, @Res() res: ServerResponse) {
    return this.gateway.subscribe(req, res);
  }
}

/** OpenAI-compatible routes over exposed bus stream targets. */
@GatewayRoutes({ filter: OpenAiRoutesFilter })
export class OpenAiCompatController {
  constructor(private readonly openai: OpenAiCompatService) {}

  @Post('chat/completions')
  @QuotaFor('stream')
  async chat(@Req() req: GatewayRequest, @Res() res: ServerResponse) {
    await this.openai.chatCompletions(req, res);
  }

  @Get('models')
  models(@Res() res: ServerResponse) {
    this.openai.listModels(res);
  }
}
