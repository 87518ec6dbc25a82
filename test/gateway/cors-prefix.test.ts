// CORS when the application mounts everything under a global prefix (app.setGlobalPrefix): the gateway's CORS
// middleware must answer a browser's preflight at the prefixed paths, before the auth guard (a preflight carries no
// credentials), and not claim paths outside the prefix.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { INestApplication } from '@nestjs/common';
import { memoryBuses } from '../bridge/helpers.js';
import { gatewayApp } from './gateway-app.js';

const ORIGIN = 'http://app.example';

describe('gateway CORS under a global prefix', () => {
  let env: Awaited<ReturnType<typeof memoryBuses>>;
  let app: INestApplication;
  let url: string;

  before(async () => {
    env = await memoryBuses('gateway', 'agent');
    await env.buses[1].handleInvoke('math.add', ({ a, b }: { a: number; b: number }) => a + b).ready;
    ({ app, url } = await gatewayApp(
      env.buses[0],
      {
        invokeTargets: ['math.add'],
        streamTargets: ['writer'],
        subscribeEvents: ['demo.>'],
        cors: { origins: [ORIGIN] },
        auth: { bearerTokens: { t1: { tenant_id: 'acme', user_id: 'ann' } } },
      },
      { configure: (a) => a.setGlobalPrefix('api') },
    ));
  });
  after(async () => {
    await app?.close();
    await env?.close();
  });

  const preflight = (path: string, method = 'POST') =>
    fetch(url + path, {
      method: 'OPTIONS',
      headers: { origin: ORIGIN, 'access-control-request-method': method, 'access-control-request-headers': 'authorization,content-type' },
    });

  it('a preflight on each kind of gateway route under /api answers 204 with the CORS headers, without credentials', async () => {
    const paths: Array<[string, string]> = [
      ['/api/v1/agents/math.add/invoke', 'POST'],
      ['/api/v1/agents/writer/stream', 'POST'],
      ['/api/v1/streams/some-id', 'DELETE'],
      ['/api/v1/events', 'GET'],
      ['/api/v1/chat/completions', 'POST'],
      ['/api/v1/tasks/some-id', 'GET'],
      ['/api/v1/a2a', 'POST'],
      ['/api/.well-known/agent-card.json', 'GET'],
    ];
    for (const [path, method] of paths) {
      const r = await preflight(path, method);
      assert.equal(r.status, 204, `${path}: status`);
      assert.equal(r.headers.get('access-control-allow-origin'), ORIGIN, `${path}: allow-origin`);
      assert.match(r.headers.get('access-control-allow-methods') ?? '', new RegExp(method), `${path}: allow-methods`);
      assert.equal(r.headers.get('access-control-allow-headers'), 'authorization,content-type', `${path}: allow-headers`);
      assert.equal(r.headers.get('access-control-max-age'), '600', `${path}: max-age`);
    }
  });

  it('the request after the preflight carries the CORS headers too, and still needs its token', async () => {
    const call = (headers: Record<string, string>) =>
      fetch(url + '/api/v1/agents/math.add/invoke', {
        method: 'POST',
        headers: { origin: ORIGIN, 'content-type': 'application/json', ...headers },
        body: JSON.stringify({ a: 2, b: 3 }),
      });
    const ok = await call({ authorization: 'Bearer t1' });
    assert.equal(ok.status, 200);
    assert.deepEqual(await ok.json(), { result: 5 });
    assert.equal(ok.headers.get('access-control-allow-origin'), ORIGIN);
    assert.match(ok.headers.get('access-control-expose-headers') ?? '', /X-Stream-Id/);
    const anonymous = await call({});
    assert.equal(anonymous.status, 401);
    assert.equal(anonymous.headers.get('access-control-allow-origin'), ORIGIN, 'a browser can read the 401');
  });

  it('an origin not configured gets no CORS headers under the prefix, and the unprefixed paths are not the gateway', async () => {
    const other = await fetch(url + '/api/v1/agents/math.add/invoke', {
      method: 'OPTIONS',
      headers: { origin: 'http://evil.example', 'access-control-request-method': 'POST' },
    });
    assert.equal(other.headers.get('access-control-allow-origin'), null);
    const unprefixed = await preflight('/v1/agents/math.add/invoke');
    assert.equal(unprefixed.status, 404);
    assert.equal(unprefixed.headers.get('access-control-allow-origin'), null);
  });
});
