import { Catch, Injectable, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import type { ServerResponse } from 'node:http';
import { sendError } from './gateway-errors.js';
import { OpenAiCompatService } from './openai-compat.service.js';

/**
 * What the gateway's own routes throw (the auth guard's 401 included), answered as an ErrorPayload with the acp/1.0
 * status whatever the application's global prefix; once an SSE stream has started, the response is only ended. The
 * CORS headers are already on the response: GatewayCorsMiddleware runs before the route.
 */
@Catch()
@Injectable()
export class GatewayRoutesFilter implements ExceptionFilter {
  catch(exception: unknown, host: ArgumentsHost): void {
    sendError(host.switchToHttp().getResponse<ServerResponse>(), exception, 'acp');
  }
}

/** The same for the OpenAI-compatible routes, in the OpenAI error shape. */
@Catch()
@Injectable()
export class OpenAiRoutesFilter implements ExceptionFilter {
  constructor(private readonly openai: OpenAiCompatService) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    this.openai.sendError(host.switchToHttp().getResponse<ServerResponse>(), exception);
  }
}
