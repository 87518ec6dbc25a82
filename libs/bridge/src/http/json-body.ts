import { ErrorCodes } from '@openagentio/nestjs';
import { BridgeError } from '../errors/bridge-error.js';
import type { IncomingMessage } from 'node:http';

/** A request body that cannot be read as JSON: `status` 413 (too large) or 400 (not JSON). */
export class JsonBodyError extends BridgeError {
  constructor(
    message: string,
    readonly status: 400 | 413,
  ) {
    super(ErrorCodes.INVALID_REQUEST, message);
    this.name = 'JsonBodyError';
  }
}

/**
 * Reads a request's body within `limit` bytes: JsonBodyError 413 above the limit (checked against Content-Length
 * first, so a large body is refused before it is read). Past the limit the request is paused, not destroyed (a
 * for-await loop left early would destroy it, and with it the socket the 413 must be written to).
 */
export function readBodyBytes(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) {
    return Promise.reject(new JsonBodyError(`request body of ${declared} bytes exceeds the limit of ${limit} bytes`, 413));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const stop = (): void => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
    };
    const onData = (c: Buffer | string): void => {
      const buf = typeof c === 'string' ? Buffer.from(c) : c;
      size += buf.length;
      if (size > limit) {
        stop();
        req.pause();
        reject(new JsonBodyError(`request body exceeds the limit of ${limit} bytes`, 413));
        return;
      }
      chunks.push(buf);
    };
    const onEnd = (): void => {
      stop();
      resolve(Buffer.concat(chunks, size));
    };
    const onError = (err: unknown): void => {
      stop();
      reject(err);
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
  });
}

/** A request's JSON body within `limit` bytes (readBodyBytes): undefined when empty, JsonBodyError 400 for bad JSON. */
export async function readJsonBody(req: IncomingMessage, limit: number): Promise<unknown> {
  const bytes = await readBodyBytes(req, limit);
  return bytes.length === 0 ? undefined : parseJsonText(bytes.toString('utf8'));
}

/**
 * How deeply a request body may nest (objects and arrays). A body nested deeper parses, but then cannot be sent
 * on the bus (JSON.stringify runs out of stack): refused at the edge as the client's error, 400, not a 500.
 */
export const MAX_BODY_DEPTH = 512;

/** JSON text as a value (undefined when blank); JsonBodyError 400 when it is not JSON or nests too deeply. */
export function parseJsonText(text: string): unknown {
  if (text.trim() === '') return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new JsonBodyError(`request body is not valid JSON: ${(err as Error).message}`, 400);
  }
  return assertBodyDepth(value);
}

/** `value`, or JsonBodyError 400 when it nests deeper than MAX_BODY_DEPTH (an iterative walk: no stack to exhaust). */
export function assertBodyDepth<T>(value: T): T {
  if (value === null || typeof value !== 'object') return value;
  const stack: Array<[unknown, number]> = [[value, 1]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (depth > MAX_BODY_DEPTH) throw new JsonBodyError(`request body nests deeper than ${MAX_BODY_DEPTH} levels`, 400);
    const children = Array.isArray(v) ? v : Object.values(v as Record<string, unknown>);
    for (const c of children) if (c !== null && typeof c === 'object') stack.push([c, depth + 1]);
  }
  return value;
}
