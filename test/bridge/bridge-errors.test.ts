import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BusError, type ErrorCode, ErrorCodes } from '@openagentio/nestjs';
import { isUnexpectedError, toBusError } from '@openagentio/nestjs/internal/errors/to-bus-error.js';
import { BridgeConfigError, BridgeError, PermanentBridgeError } from '@openagentio/nestjs-bridges';
import { A2aErrorCodes, A2aRpcError } from '@openagentio/nestjs-gateway/internal/a2a-mapping.js';
import { GatewayHttpError } from '@openagentio/nestjs-gateway/internal/gateway-errors.js';
import { JsonBodyError } from '@openagentio/nestjs-bridges/internal/http/json-body.js';
import { MatrixRequestError } from '@openagentio/nestjs-bridges/internal/matrix/matrix-http.js';

describe('the bridges errors: one base with a code', () => {
  const cases: Array<[BridgeError<ErrorCode | number>, string, ErrorCode | number]> = [
    [new BridgeConfigError('bad key', 'bridges[0].type'), 'BridgeConfigError', ErrorCodes.INVALID_REQUEST],
    [new PermanentBridgeError('token refused'), 'PermanentBridgeError', ErrorCodes.AGENT_UNAVAILABLE],
    [new JsonBodyError('too large', 413), 'JsonBodyError', ErrorCodes.INVALID_REQUEST],
    [new MatrixRequestError('rate limited', 429, 'M_LIMIT_EXCEEDED', 100), 'MatrixRequestError', ErrorCodes.BACKPRESSURE_DROP],
    [new MatrixRequestError('unknown token', 401, 'M_UNKNOWN_TOKEN'), 'MatrixRequestError', ErrorCodes.AUTH_FAILURE],
    [new MatrixRequestError('homeserver down', 0), 'MatrixRequestError', ErrorCodes.INVALID_REQUEST],
    [new MatrixRequestError('bad gateway', 502), 'MatrixRequestError', ErrorCodes.AGENT_UNAVAILABLE],
    [new GatewayHttpError(ErrorCodes.NO_HANDLER, 'no such agent'), 'GatewayHttpError', ErrorCodes.NO_HANDLER],
    [new A2aRpcError(A2aErrorCodes.METHOD_NOT_FOUND, 'no such method'), 'A2aRpcError', A2aErrorCodes.METHOD_NOT_FOUND],
  ];
  for (const [err, name, code] of cases) {
    it(`${name} (${err.message}) is a BridgeError with code ${code}, its own name and message`, () => {
      assert.ok(err instanceof BridgeError);
      assert.ok(err instanceof Error);
      assert.equal(err.name, name);
      assert.equal(err.code, code);
    });
  }

  it('is not a BusError: handed to the bus as is, it counts as unexpected and its text stays in the process', () => {
    const err = new MatrixRequestError('POST https://matrix.internal:8448/_matrix failed', 502);
    assert.ok(!(err instanceof BusError));
    assert.equal(isUnexpectedError(err), true);
    assert.equal(toBusError(err).code, ErrorCodes.AGENT_UNAVAILABLE);
  });
});
