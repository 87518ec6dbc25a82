import { Catch, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import { BusError } from '../errors/bus-error.js';

interface HttpResponseLike {
  status(code: number): HttpResponseLike;
  json(body: unknown): unknown;
  headersSent?: boolean;
}

/**
 * Answers a BusError that escapes an HTTP route with its ErrorPayload and the HTTP status of its code
 * (INVALID_REQUEST → 400, NO_HANDLER → 404, AGENT_TIMEOUT → 504, …) instead of a 500.
 *
 * @example
 * app.useGlobalFilters(new BusErrorHttpFilter());
 */
@Catch(BusError)
export class BusErrorHttpFilter implements ExceptionFilter<BusError> {
  catch(error: BusError, host: ArgumentsHost): unknown {
    if (host.getType() !== 'http') throw error;
    const res = host.switchToHttp().getResponse<HttpResponseLike>();
    if (res.headersSent) return undefined;
    return res.status(error.status).json(error.toPayload());
  }
}
