import { BridgeError } from '@openagentio/nestjs-bridges';
import { ArgumentsHost, Catch, type ExceptionFilter, HttpException, Inject, Injectable, Logger, Optional } from '@nestjs/common';
import { BaseExceptionFilter } from '@nestjs/core';
import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { type GatewayModuleOptions } from './gateway.options.js';
import { GATEWAY_MODULE_OPTIONS } from './gateway.module-definition.js';
import { BusError, type ErrorCode, ErrorCodes, type ErrorPayload } from '@openagentio/nestjs';
import { isUnexpectedError, toBusError } from '@openagentio/nestjs/internal/errors/to-bus-error.js';

const logger = new Logger('Gateway');

/** An error the gateway answers with: an acp/1.0 code, and the HTTP status (the code's, unless given). */
export class GatewayHttpError extends BridgeError {
  readonly status: number;
  constructor(
    code: ErrorCode,
    message: string,
    status?: number,
    readonly cause_?: Record<string, unknown>,
  ) {
    super(code, message);
    this.name = 'GatewayHttpError';
    this.status = status ?? new BusError(code, message).status;
  }

  toPayload(): ErrorPayload {
    const p: ErrorPayload = { code: this.code, message: this.message, retryable: false };
    if (this.cause_) p.cause = this.cause_;
    return p;
  }
}

/** Any error → (HTTP status, ErrorPayload). Body-parser errors become 400 / 413. */
export function toGatewayError(err: unknown): { status: number; payload: ErrorPayload } {
  if (err instanceof GatewayHttpError) return { status: err.status, payload: err.toPayload() };
  if (err instanceof BusError) return { status: err.status, payload: err.toPayload() };
  const e = err as { type?: string; status?: number; statusCode?: number; message?: string; limit?: number; length?: number };
  if (e?.type === 'entity.too.large' && typeof e.limit === 'number') {
    // Express's parser (the application's, not the gateway's): name its limit and the way to raise it.
    const size = typeof e.length === 'number' && Number.isFinite(e.length) ? `of ${e.length} bytes ` : '';
    const message = `request body ${size}exceeds the application body parser's limit of ${e.limit} bytes; raise it with app.useBodyParser('json', { limit: '1mb' })`;
    return { status: 413, payload: { code: ErrorCodes.INVALID_REQUEST, message, retryable: false } };
  }
  if (e?.type === 'entity.too.large' || e?.status === 413 || (err instanceof HttpException && err.getStatus() === 413)) {
    return { status: 413, payload: { code: ErrorCodes.INVALID_REQUEST, message: 'request body is too large', retryable: false } };
  }
  if (e?.type === 'entity.parse.failed' || err instanceof SyntaxError) {
    return {
      status: 400,
      payload: {
        code: ErrorCodes.INVALID_REQUEST,
        message: `request body is not valid JSON: ${e?.message ?? ''}`.trim(),
        retryable: false,
      },
    };
  }
  if (err instanceof HttpException && err.getStatus() === 403) {
    return { status: 401, payload: { code: ErrorCodes.AUTH_FAILURE, message: err.message || 'forbidden', retryable: false } };
  }
  if (isUnexpectedError(err)) {
    // Internal detail stays in the log; the client gets an id to quote.
    const errorId = randomUUID();
    logger.error(`request failed (error id ${errorId}): ${(err as Error)?.message ?? String(err)}`, (err as Error)?.stack);
    return {
      status: 500,
      payload: { code: ErrorCodes.AGENT_UNAVAILABLE, message: `internal error (error id ${errorId})`, retryable: false },
    };
  }
  const b = toBusError(err);
  const status = err instanceof HttpException ? err.getStatus() : b.status;
  return { status, payload: b.toPayload() };
}

export function sendError(res: ServerResponse, err: unknown, shape: 'acp' | 'openai' = 'acp'): void {
  const { status, payload } = toGatewayError(err);
  if (res.headersSent) {
    res.end();
    return;
  }
  const body = shape === 'openai' ? openAiErrorBody(status, payload) : payload;
  res.statusCode = status;
  res.setHeader('content-type', 'application/json; charset=utf-8');
  res.end(JSON.stringify(body));
}

/** The OpenAI error shape `{error:{message,type,param,code}}`. */
export function openAiErrorBody(
  status: number,
  p: ErrorPayload,
  param: string | null = null,
  code?: string,
): { error: Record<string, unknown> } {
  const type =
    status === 401
      ? 'authentication_error'
      : status === 404 || status === 400 || status === 413
        ? 'invalid_request_error'
        : status === 429
          ? 'rate_limit_error'
          : 'server_error';
  return { error: { message: p.message, type, param, code: code ?? p.code.toLowerCase() } };
}

const GATEWAY_PATH = /\/v1\/(agents|events|streams|tasks|a2a|chat\/completions|models)(\/|\?|$)/;

/** Whether errors on `url` are answered as ErrorPayloads: a gateway route, or under one of `extraPrefixes`. */
export function isGatewayPath(url: string | undefined, extraPrefixes: readonly string[] = []): boolean {
  if (!url) return false;
  if (GATEWAY_PATH.test(url)) return true;
  for (const prefix of extraPrefixes) if (url.startsWith(prefix)) return true;
  return false;
}

/**
 * Answers every error of the routes it filters as an ErrorPayload body with the acp/1.0 status (unexpected errors
 * as `internal error (error id …)`, the detail in the log), as the gateway does: for an app's own controllers that
 * should answer like the gateway. Pair it with the gateway's `errorPayloadPaths` so that body-parser errors (bad
 * JSON, too large), which happen before any filter, get the same shape.
 *
 * @example
 * @Controller('demo')
 * @UseFilters(ErrorPayloadFilter)
 * export class DemoController {}
 */
@Catch()
export class ErrorPayloadFilter implements ExceptionFilter {
  catch(exception: unknown, host: ArgumentsHost): void {
    if (host.getType() !== 'http') throw exception;
    sendError(host.switchToHttp().getResponse<ServerResponse>(), exception, 'acp');
  }
}

/**
 * Error filter of the gateway routes (guards included): every error is an ErrorPayload body with the §1 status
 * (OpenAI routes use OpenAI's error shape). Registered globally (`app.useGlobalFilters(app.get(GatewayExceptionFilter))`),
 * it answers the same way under the `errorPayloadPaths` prefixes, and other paths keep Nest's default handling.
 */
@Catch()
@Injectable()
export class GatewayExceptionFilter extends BaseExceptionFilter {
  private readonly extraPrefixes: readonly string[];

  constructor(@Optional() @Inject(GATEWAY_MODULE_OPTIONS) options?: GatewayModuleOptions) {
    super();
    this.extraPrefixes = options?.errorPayloadPaths ?? [];
  }

  override catch(exception: unknown, host: ArgumentsHost): void {
    if (host.getType() !== 'http') return super.catch(exception, host);
    const http = host.switchToHttp();
    const req = http.getRequest<{ originalUrl?: string; url?: string }>();
    const url = req.originalUrl ?? req.url;
    if (!isGatewayPath(url, this.extraPrefixes)) return super.catch(exception, host);
    const res = http.getResponse<ServerResponse>();
    const openai = /\/v1\/(chat\/completions|models)/.test(url ?? '');
    sendError(res, exception, openai ? 'openai' : 'acp');
  }
}
