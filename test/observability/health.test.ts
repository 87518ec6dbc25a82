import 'reflect-metadata';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Module, type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { BusClient, BusHealthIndicator, BusModule, MemoryBroker, MemoryTransport, NatsTransport } from '@openagentio/nestjs';
import { ObservabilityModule } from '../../src/observability/observability.module.js';
import { RecordingLogger, until } from '../support/bus-fixture.js';
import { NatsServer } from '../support/nats-server.js';

describe('BusHealthIndicator', () => {
  it('memory: up when connected (terminus result shape), down after the bus closes', async () => {
    const bus = new BusClient(new MemoryTransport({ broker: new MemoryBroker() }), { agentId: 'h-mem', logger: new RecordingLogger() });
    const indicator = new BusHealthIndicator(bus);
    assert.equal(indicator.check().bus.status, 'down', 'not connected yet');
    await bus.connect();
    await bus.handleInvoke('h.echo', (p) => p).ready;
    assert.deepEqual(await indicator.isHealthy('bus'), {
      bus: { status: 'up', agent: 'h-mem', transport: 'memory', transportStatus: 'connected', connected: true, targets: 1 },
    });
    assert.equal(indicator.check('messaging').messaging.status, 'up', 'any key');
    await bus.close();
    const down = indicator.check();
    assert.equal(down.bus.status, 'down');
    assert.equal(down.bus.connected, false);
    assert.equal(down.bus.transportStatus, 'closed');
  });

  it('nats: down when the transport is closed under the bus, and while it reconnects after a server crash', async () => {
    const server = await NatsServer.start();
    const transport = new NatsTransport({ servers: server.url, reconnectTimeWait: 50, timeout: 2000, logger: new RecordingLogger() });
    const bus = new BusClient(transport, { agentId: 'h-nats', logger: new RecordingLogger() });
    const indicator = new BusHealthIndicator(bus);
    try {
      await bus.connect();
      assert.equal(indicator.check().bus.status, 'up');
      assert.equal(indicator.check().bus.transport, 'nats');
      await server.kill();
      await until(() => indicator.check().bus.status === 'down', 5000, 'down after the server died');
      assert.notEqual(indicator.check().bus.transportStatus, 'connected');
      await server.startAgain();
      await until(() => indicator.check().bus.status === 'up', 10_000, 'up again after reconnecting');
      await transport.close();
      const h = indicator.check();
      assert.equal(h.bus.status, 'down', 'transport closed');
      assert.equal(h.bus.transportStatus, 'closed');
    } finally {
      await bus.close().catch(() => undefined);
      await server.stop();
    }
  });

  it('includes other sources (bridges): their status and details; a down, unhealthy or throwing source makes the check down', async () => {
    const bus = new BusClient(new MemoryTransport({ broker: new MemoryBroker() }), { agentId: 'h-src', logger: new RecordingLogger() });
    await bus.connect();
    let bridges = { status: 'healthy', bridges: { llm: { status: 'healthy', restarts: 0 } } };
    const indicator = new BusHealthIndicator(bus, [{ name: 'bridges', check: () => bridges }]);
    let h = indicator.check();
    assert.equal(h.bus.status, 'up');
    assert.deepEqual(h.bus.bridges, bridges);
    bridges = { status: 'unhealthy', bridges: { llm: { status: 'unhealthy', restarts: 5 } } };
    h = indicator.check();
    assert.equal(h.bus.status, 'down');
    assert.equal((h.bus.bridges as { status: string }).status, 'unhealthy');
    indicator.addSource({
      name: 'cache',
      check: () => {
        throw new Error('cache unreachable');
      },
    });
    bridges = { status: 'degraded', bridges: { llm: { status: 'degraded', restarts: 1 } } };
    h = indicator.check();
    assert.equal(h.bus.status, 'down');
    assert.deepEqual(h.bus.cache, { status: 'down', error: 'cache unreachable' });
    await bus.close();
  });
});

describe('GET /health (ObservabilityModule)', () => {
  @Module({
    imports: [
      BusModule.forRoot({ agentId: 'h-app', transport: { memory: { broker: new MemoryBroker() } } }),
      ObservabilityModule.forRoot(),
    ],
  })
  class HealthApp {}

  let app: INestApplication;
  let base: string;
  before(async () => {
    app = await NestFactory.create(HealthApp, { logger: false });
    await app.listen(0, '127.0.0.1');
    base = `http://127.0.0.1:${(app.getHttpServer().address() as { port: number }).port}`;
  });
  after(async () => {
    await app?.close();
  });

  it('200 { status: ok } while connected, 503 { status: error } once the transport is closed; /metrics is 503 without telemetry', async () => {
    let res = await fetch(`${base}/health`);
    assert.equal(res.status, 200);
    let body = (await res.json()) as {
      status: string;
      info: Record<string, unknown>;
      error: Record<string, unknown>;
      details: { bus: Record<string, unknown> };
    };
    assert.equal(body.status, 'ok');
    assert.deepEqual(body.error, {});
    assert.equal(body.details.bus.status, 'up');
    assert.equal(body.details.bus.agent, 'h-app');
    assert.equal(body.details.bus.bridges, undefined, 'no BridgeModule: no bridge health');

    await app.get(BusClient).transport.close();
    res = await fetch(`${base}/health`);
    assert.equal(res.status, 503);
    body = (await res.json()) as typeof body;
    assert.equal(body.status, 'error');
    assert.equal((body.error.bus as { status: string }).status, 'down');
    assert.equal(body.details.bus.connected, false);

    const metrics = await fetch(`${base}/metrics`);
    assert.equal(metrics.status, 503, 'startTelemetry() was not called in this process');
    assert.match(await metrics.text(), /telemetry is not started/);
  });
});
