import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BadRequestException, ForbiddenException, UnauthorizedException } from '@nestjs/common';
import { RpcException } from '@nestjs/microservices';
import { BusError, ErrorCodes } from '@openagentio/nestjs';
import { HTTP_STATUS_OF } from '@openagentio/nestjs/internal/errors/error-codes.js';
import { toBusError } from '@openagentio/nestjs/internal/errors/to-bus-error.js';

describe('BusError', () => {
  it('carries code, message, retryable and cause, and serialises to an ErrorPayload', () => {
    const e = new BusError('INVALID_REQUEST', 'city is required', { cause: { fields: ['city'] } });
    assert.equal(e.code, 'INVALID_REQUEST');
    assert.equal(e.retryable, false);
    assert.equal(e.status, 400);
    assert.deepEqual(e.toPayload(), {
      code: 'INVALID_REQUEST',
      message: 'city is required',
      retryable: false,
      cause: { fields: ['city'] },
    });
    assert.ok(e instanceof RpcException, 'exception filters can catch it as an RPC error');
  });

  it('never lets a code outside the eight reach the wire', () => {
    const e = BusError.fromPayload({ code: 'E_WEIRD', message: 'm', retryable: true });
    assert.equal(e.code, 'AGENT_UNAVAILABLE');
    assert.equal(e.details?.remote_code, 'E_WEIRD');
    assert.equal(new BusError('NOPE' as never, 'x').code, 'AGENT_UNAVAILABLE');
  });

  it('maps every code to the HTTP status of docs/protocol.md §1', () => {
    assert.deepEqual(HTTP_STATUS_OF, {
      AGENT_TIMEOUT: 504,
      AGENT_UNAVAILABLE: 502,
      BACKPRESSURE_DROP: 429,
      TRANSPORT_FAILURE: 502,
      CODEC_FAILURE: 500,
      AUTH_FAILURE: 401,
      INVALID_REQUEST: 400,
      NO_HANDLER: 404,
    });
    assert.equal(Object.keys(ErrorCodes).length, 8);
  });
});

describe('toBusError maps what handlers throw', () => {
  it('timeouts → AGENT_TIMEOUT, aborts → non-retryable cancellation', () => {
    const timeout = AbortSignal.timeout(0);
    // AbortSignal.timeout's timer does not keep the event loop alive (Node 22 may otherwise end the test first).
    const keepAlive = setTimeout(() => undefined, 10_000);
    return new Promise<void>((resolve) => {
      timeout.addEventListener('abort', () => {
        clearTimeout(keepAlive);
        assert.equal(toBusError(timeout.reason).code, 'AGENT_TIMEOUT');
        const ac = new AbortController();
        ac.abort();
        const cancelled = toBusError(ac.signal.reason);
        assert.equal(cancelled.code, 'AGENT_UNAVAILABLE');
        assert.equal(cancelled.retryable, false);
        resolve();
      });
    });
  });

  it('ValidationPipe failures → INVALID_REQUEST listing the failing fields', () => {
    const e = toBusError(new BadRequestException(['city must be a string', 'days must not be less than 1']));
    assert.equal(e.code, 'INVALID_REQUEST');
    assert.deepEqual(e.details?.fields, ['city', 'days']);
    assert.match(e.message, /city must be a string/);
  });

  it('guards: ForbiddenException/UnauthorizedException and the RPC "Forbidden resource" → AUTH_FAILURE', () => {
    assert.equal(toBusError(new ForbiddenException()).code, 'AUTH_FAILURE');
    assert.equal(toBusError(new UnauthorizedException()).code, 'AUTH_FAILURE');
    assert.equal(toBusError(new RpcException('Forbidden resource')).code, 'AUTH_FAILURE');
  });

  it('RpcException with an ErrorPayload keeps it; other errors → AGENT_UNAVAILABLE not retryable', () => {
    const e = toBusError(new RpcException({ code: 'BACKPRESSURE_DROP', message: 'busy', retryable: true }));
    assert.deepEqual(e.toPayload(), { code: 'BACKPRESSURE_DROP', message: 'busy', retryable: true });
    const plain = toBusError(new Error('boom'));
    assert.equal(plain.code, 'AGENT_UNAVAILABLE');
    assert.equal(plain.retryable, false);
    assert.equal(plain.message, 'boom');
    assert.equal(toBusError('text').message, 'text');
    const own = new BusError('NO_HANDLER', 'x');
    assert.equal(toBusError(own), own);
  });
});
