import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Injectable, type CanActivate, type ExecutionContext, type INestApplication } from '@nestjs/common';
import type { HandlerContext } from '@openagentio/nestjs';
import { memoryBuses } from '../bridge/helpers.js';
import { gatewayApp } from './gateway-app.js';
import { openSse } from './sse-client.js';

@Injectable()
class ApiKeyGuard implements CanActivate {
  canActivate(ctx: ExecutionContext): boolean {
    const req = ctx.switchToHttp().getRequest();
    if (req.headers['x-api-key'] !== 'k-123') return false;
    req.user = { sub: 'svc-1', tenantId: 'globex' };
    return true;
  }
}

describe('gateway security', () => {
  let env: Awaited<ReturnType<typeof memoryBuses>>;
  let tokenApp: INestApplication;
  let guardApp: INestApplication;
  let openApp: INestApplication;
  let tokenUrl: string;
  let guardUrl: string;
  let openUrl: string;

  before(async () => {
    env = await memoryBuses('gw1', 'gw2', 'gw3', 'agent');
    const agent = env.buses[3];
    agent.handleInvoke('whoami', (_p: unknown, ctx: HandlerContext) => ({
      tenant: ctx.session.tenant_id ?? null,
      user: ctx.session.user_id ?? null,
    }));
    agent.handleInvoke('hidden', () => 'secret');
    ({ app: tokenApp, url: tokenUrl } = await gatewayApp(env.buses[0], {
      invokeTargets: ['whoami'],
      subscribeEvents: ['demo.>'],
      auth: { bearerTokens: { 'tok-ann': { subject: 'ann', tenant_id: 'acme', user_id: 'ann' } } },
    }));
    ({ app: guardApp, url: guardUrl } = await gatewayApp(
      env.buses[1],
      { invokeTargets: ['whoami'], guards: [ApiKeyGuard] },
      { providers: [ApiKeyGuard] },
    ));
    ({ app: openApp, url: openUrl } = await gatewayApp(env.buses[2], {}));
  });
  after(async () => {
    await tokenApp.close();
    await guardApp.close();
    await openApp.close();
    await env.close();
  });

  const invoke = (base: string, headers: Record<string, string> = {}) =>
    fetch(`${base}/v1/agents/whoami/invoke`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: '{}' });

  it('bearer tokens: 401 ErrorPayload without or with a wrong token', async () => {
    for (const h of [{}, { authorization: 'Bearer nope' }] as Record<string, string>[]) {
      const r = await invoke(tokenUrl, h);
      assert.equal(r.status, 401);
      const b = (await r.json()) as Record<string, unknown>;
      assert.equal(b.code, 'AUTH_FAILURE');
      assert.equal(b.retryable, false);
    }
  });

  it('the identity sets tenant and user; request headers cannot override them', async () => {
    const r = await invoke(tokenUrl, { authorization: 'Bearer tok-ann', 'x-tenant-id': 'evil', 'x-user-id': 'mallory' });
    assert.equal(r.status, 200);
    assert.deepEqual(await r.json(), { result: { tenant: 'acme', user: 'ann' } });
  });

  it('GET event streams accept ?access_token= (EventSource cannot send headers)', async () => {
    assert.equal((await fetch(`${tokenUrl}/v1/events?pattern=demo.%3E`)).status, 401);
    const s = await openSse(`${tokenUrl}/v1/events?pattern=demo.%3E&access_token=tok-ann`);
    assert.equal(s.status, 200);
    s.close();
  });

  it('any Nest guard: false is 401; req.user becomes the identity', async () => {
    assert.equal((await invoke(guardUrl)).status, 401);
    const r = await invoke(guardUrl, { 'x-api-key': 'k-123', 'x-tenant-id': 'evil' });
    assert.deepEqual(await r.json(), { result: { tenant: 'globex', user: 'svc-1' } });
  });

  it('nothing is exposed by default', async () => {
    const r = await fetch(`${openUrl}/v1/agents/hidden/invoke`, { method: 'POST', body: '{}' });
    assert.equal(r.status, 404);
    assert.equal(((await r.json()) as { code: string }).code, 'NO_HANDLER');
    assert.equal((await fetch(`${openUrl}/v1/agents/hidden/stream`, { method: 'POST', body: '{}' })).status, 404);
    assert.equal((await fetch(`${openUrl}/v1/events/any.thing`, { method: 'POST', body: '{}' })).status, 404);
    assert.equal((await fetch(`${openUrl}/v1/events?pattern=%3E`)).status, 404);
    const m = await fetch(`${openUrl}/v1/models`);
    assert.deepEqual(await m.json(), { object: 'list', data: [] });
  });
});
