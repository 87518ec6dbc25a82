import assert from 'node:assert/strict';
import { createServer, request, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
// Internals under unit test, reached through the package's internal/ entry (not public API).
import { bearerTokenOf, findToken, tokenMatches } from '@openagentio/nestjs-bridges/internal/http/bearer-token.js';
import { JsonBodyError, readJsonBody } from '@openagentio/nestjs-bridges/internal/http/json-body.js';

describe('bearer tokens (shared by the gateway and the MCP endpoint)', () => {
  it('reads the token of an Authorization header, scheme case-insensitive, spacing tolerated', () => {
    assert.equal(bearerTokenOf('Bearer abc'), 'abc');
    assert.equal(bearerTokenOf('bearer   abc  '), 'abc');
    assert.equal(bearerTokenOf(['Bearer first', 'Bearer second']), 'first');
    assert.equal(bearerTokenOf('Basic abc'), undefined);
    assert.equal(bearerTokenOf('Bearer '), undefined);
    assert.equal(bearerTokenOf(undefined), undefined);
  });

  it('compares tokens: right, wrong, wrong length, missing', () => {
    assert.equal(tokenMatches('s3cret', 's3cret'), true);
    assert.equal(tokenMatches('s3creT', 's3cret'), false);
    assert.equal(tokenMatches('s3cret-and-more', 's3cret'), false);
    assert.equal(tokenMatches('', 's3cret'), false);
    assert.equal(tokenMatches(undefined, 's3cret'), false);
    assert.equal(findToken('t2', ['t1', 't2', 't3']), 't2');
    assert.equal(findToken('t4', ['t1', 't2']), undefined);
    assert.equal(findToken(undefined, ['t1']), undefined);
  });
});

describe('readJsonBody (shared by the gateway and the MCP endpoint)', () => {
  async function post(body: string, limit: number, headers: Record<string, string> = {}): Promise<unknown> {
    let result: Promise<unknown> | undefined;
    const server = createServer((req: IncomingMessage, res) => {
      result = readJsonBody(req, limit);
      result.then(
        () => res.end('ok'),
        () => res.end('refused'),
      );
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    try {
      await new Promise<void>((resolve) => {
        const req = request({ port, host: '127.0.0.1', method: 'POST', headers }, (res) => {
          res.resume();
          res.on('end', resolve);
        });
        req.on('error', () => resolve());
        req.end(body);
      });
      return await result!;
    } finally {
      server.close();
    }
  }

  it('parses JSON, gives undefined for an empty body', async () => {
    assert.deepEqual(await post('{"a":[1,2]}', 100), { a: [1, 2] });
    assert.equal(await post('', 100), undefined);
  });

  it('refuses a body above the limit with 413 (declared or streamed) and bad JSON with 400', async () => {
    await assert.rejects(
      post('x'.repeat(50), 10),
      (e: JsonBodyError) => e instanceof JsonBodyError && e.status === 413 && /50 bytes exceeds the limit of 10/.test(e.message),
    );
    await assert.rejects(
      post('x'.repeat(50), 10, { 'transfer-encoding': 'chunked' }),
      (e: JsonBodyError) => e.status === 413 && /exceeds the limit of 10 bytes/.test(e.message),
    );
    await assert.rejects(post('{nope', 100), (e: JsonBodyError) => e.status === 400 && /not valid JSON/.test(e.message));
  });
});
