import { Controller, Get, Inject, Param, Post, Query, Req, Res, UseFilters, UseGuards, type Type } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { ErrorCodes } from '@openagentio/nestjs';
import { GatewayHttpError } from '../gateway-errors.js';
import type { ServerResponse } from 'node:http';
import { IDENTITY_KEY, type GatewayRequest } from '../gateway-auth.js';
import { GatewayRoutesFilter } from '../gateway-routes.filter.js';
import { SseChannel } from '../sse.js';
import { ConsoleAuthGuard } from './console-auth.guard.js';
import { ConsoleCollector } from './console-collector.service.js';
import { consolePageHtml } from './console-page.js';
import { CONSOLE_PAGE_JS } from './console-script.js';
import { CONSOLE_PAGE_CSS } from './console-style.js';
import { ConsoleTasks } from './console-tasks.js';
import { ConsoleConversations } from './console-conversations.js';

/** Heartbeat of the console's event stream (ms): a proxy must not close it between sweeps. */
const HEARTBEAT_MS = 15_000;

function send(res: ServerResponse, type: string, body: string): void {
  res.writeHead(200, { 'content-type': type, 'cache-control': 'no-cache', 'x-content-type-options': 'nosniff' });
  res.end(body);
}

function json(res: ServerResponse, value: unknown): void {
  send(res, 'application/json; charset=utf-8', JSON.stringify(value));
}

/**
 * What spans every tenant is for operators: an instance serves all of them (drain), and the spans of conversations
 * carry every tenant's sessions and users. A tenant-bound identity gets 403.
 */
function operatorOnly(req: GatewayRequest, what: string): void {
  if (req[IDENTITY_KEY]?.tenant_id) throw new GatewayHttpError(ErrorCodes.AUTH_FAILURE, `${what}: for operators, not tenants`, 403);
}

/** The page and its two files: public (they hold no data), every API route behind the gateway's authentication. */
export function consoleControllers(path: string): Type[] {
  @Controller(path)
  class ConsolePageController {
    @Get()
    page(@Res() res: ServerResponse) {
      send(res, 'text/html; charset=utf-8', consolePageHtml(`/${path}`));
    }

    @Get('console.js')
    script(@Res() res: ServerResponse) {
      send(res, 'text/javascript; charset=utf-8', CONSOLE_PAGE_JS);
    }

    @Get('console.css')
    style(@Res() res: ServerResponse) {
      send(res, 'text/css; charset=utf-8', CONSOLE_PAGE_CSS);
    }
  }

  @Controller(`${path}/api`)
  @UseGuards(ConsoleAuthGuard)
  @UseFilters(GatewayRoutesFilter)
  class ConsoleApiController {
    private readonly tasks: ConsoleTasks;
    private readonly conversations: ConsoleConversations;

    constructor(
      @Inject(ConsoleCollector) private readonly collector: ConsoleCollector,
      @Inject(ModuleRef) moduleRef: ModuleRef,
    ) {
      this.tasks = new ConsoleTasks(moduleRef);
      this.conversations = new ConsoleConversations(collector.discovery, collector.options.traceUrl);
    }

    @Get('state')
    async state(@Res() res: ServerResponse) {
      json(res, await this.collector.snapshot());
    }

    /** Each sweep's snapshot as one `snapshot` event, the newest at once. */
    @Get('events')
    async events(@Res() res: ServerResponse) {
      const sse = new SseChannel(res, HEARTBEAT_MS);
      const write = (s: unknown) => {
        if (!sse.closed) res.write(`event: snapshot\ndata: ${JSON.stringify(s)}\n\n`);
      };
      const stop = this.collector.subscribe(write);
      res.on('close', stop);
      sse.open();
      write(await this.collector.snapshot());
    }

    /** Drain or resume one instance of an agent (docs/console.md, "Agent management"). */
    @Post('instances/:id/:verb')
    async instance(@Req() req: GatewayRequest, @Param('id') id: string, @Param('verb') verb: string, @Res() res: ServerResponse) {
      operatorOnly(req, 'draining an instance');
      if (verb !== 'drain' && verb !== 'resume') throw new GatewayHttpError(ErrorCodes.NO_HANDLER, 'use drain or resume', 404);
      const answer = await this.collector.control(verb, id);
      if (!answer)
        throw new GatewayHttpError(
          ErrorCodes.AGENT_UNAVAILABLE,
          'the instance did not answer: gone, or its bus has discovery.control off',
          503,
        );
      json(res, answer);
    }

    /** Conversations by `session_id`, `trace_id` or the last `minutes`, from every process's span ring. */
    @Get('conversations')
    async conversationList(@Req() req: GatewayRequest, @Query() query: Record<string, unknown>, @Res() res: ServerResponse) {
      operatorOnly(req, 'conversations');
      json(res, { conversations: await this.conversations.search(query) });
    }

    @Get('conversations/:traceId')
    async conversation(@Req() req: GatewayRequest, @Param('traceId') traceId: string, @Res() res: ServerResponse) {
      operatorOnly(req, 'conversations');
      json(res, await this.conversations.trace(traceId));
    }

    @Get('tasks')
    async taskList(@Req() req: GatewayRequest, @Query() query: Record<string, unknown>, @Res() res: ServerResponse) {
      json(res, { tasks: await this.tasks.list(query, req[IDENTITY_KEY]) });
    }

    @Post('tasks/:id/cancel')
    async cancel(@Req() req: GatewayRequest, @Param('id') id: string, @Res() res: ServerResponse) {
      json(res, await this.tasks.cancel(id, req[IDENTITY_KEY]));
    }
  }

  return [ConsolePageController, ConsoleApiController];
}
