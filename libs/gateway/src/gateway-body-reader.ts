import type { IncomingMessage, ServerResponse } from 'node:http';
import { ErrorCodes } from '@openagentio/nestjs';
import { GatewayHttpError, isGatewayPath, sendError } from './gateway-errors.js';
import { JsonBodyError, readBodyBytes } from '@openagentio/nestjs-bridges/internal/http/json-body.js';

/** The Express application as far as the reader needs it (Express 5: `app.router.stack`). */
interface ExpressLike {
  use(fn: (req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void) => void): unknown;
  router?: { stack?: Array<{ handle?: unknown }> };
}

/** A byte count as people read it: `1 MiB`, `100 KiB`, `512 bytes`. */
export function formatBytes(n: number): string {
  if (n >= 1024 * 1024 && n % (1024 * 1024) === 0) return `${n / (1024 * 1024)} MiB`;
  if (n >= 1024 && n % 1024 === 0) return `${n / 1024} KiB`;
  return `${n} bytes`;
}

/** The 413 of the gateway's own limit: which limit fired and how to raise it. */
export function gatewayBodyTooLarge(limit: number, size?: number): GatewayHttpError {
  const what = size === undefined ? 'request body exceeds' : `request body of ${size} bytes exceeds`;
  return new GatewayHttpError(
    ErrorCodes.INVALID_REQUEST,
    `${what} the gateway's bodyLimit of ${limit} bytes (${formatBytes(limit)}); raise it with GatewayModule.forRoot({ bodyLimit })`,
    413,
  );
}

function hasBody(req: IncomingMessage): boolean {
  return req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length']) > 0;
}

/**
 * Reads the bodies of gateway routes ahead of the application's body parser. Nest installs Express's JSON parser
 * (100 KB, objects and arrays only) before any module can add middleware, so without this the documented
 * `bodyLimit` never applied and a JSON string such as `"Q3"` was refused as "not valid JSON". The body is left on
 * `req.body` as a Buffer; the parser sees a finished stream and skips it; `GatewayService.readBody` parses it.
 * Installed first in Express's stack (moved there, since Nest's parser is already in it at module init).
 */
export function installGatewayBodyReader(
  app: ExpressLike,
  options: { bodyLimit: number; applyCors: (req: IncomingMessage, res: ServerResponse) => void },
): void {
  const { bodyLimit } = options;
  const reader = function gatewayBodyReader(req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void): void {
    if (!hasBody(req) || !isGatewayPath(req.url)) return next();
    const tooLarge = (size?: number): void => {
      options.applyCors(req, res);
      // The rest of the body is not read: close the connection rather than drain it.
      res.setHeader('connection', 'close');
      sendError(res, gatewayBodyTooLarge(bodyLimit, size), /\/v1\/(chat\/completions|models)/.test(req.url ?? '') ? 'openai' : 'acp');
    };
    const declared = Number(req.headers['content-length']);
    readBodyBytes(req, bodyLimit).then(
      (bytes) => {
        (req as IncomingMessage & { body?: unknown }).body = bytes;
        next();
      },
      (err: unknown) => {
        if (err instanceof JsonBodyError && err.status === 413)
          tooLarge(Number.isFinite(declared) && declared > bodyLimit ? declared : undefined);
        else next(err);
      },
    );
  };
  app.use(reader);
  const stack = app.router?.stack;
  if (!stack) return;
  const at = stack.findIndex((layer) => layer.handle === reader);
  if (at > 0) stack.unshift(...stack.splice(at, 1));
}
