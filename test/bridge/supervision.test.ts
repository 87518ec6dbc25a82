import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Injectable } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import type { BusClient } from '@openagentio/nestjs';
import { type Bridge, type BridgeContext, BridgeHealthService, BridgeModule, PermanentBridgeError } from '@openagentio/nestjs-bridges';
import { aggregateStatus } from '@openagentio/nestjs-bridges/internal/bridge-health.service.js';
import { BridgeSupervisor, DEFAULT_SUPERVISION, restartDelay } from '@openagentio/nestjs-bridges/internal/supervision/bridge-supervisor.js';
import { BridgeManager } from '@openagentio/nestjs-bridges/internal/bridge-manager.js';
import { memoryBuses, quietLogger, testBusModule, until } from './helpers.js';

/** A bridge whose behaviour is scripted: `failStarts` starts throw, then it serves `echo.<name>`. */
class ScriptedBridge implements Bridge {
  readonly type = 'scripted';
  starts = 0;
  stops = 0;
  ctx?: BridgeContext;
  sub?: { unsubscribe(): void };
  constructor(
    readonly name: string,
    public failStarts = 0,
    public permanent = false,
    readonly log: string[] = [],
  ) {}
  async start(ctx: BridgeContext): Promise<void> {
    this.starts++;
    this.log.push(`start ${this.name}`);
    if (this.permanent) throw new PermanentBridgeError('bad credentials');
    if (this.starts <= this.failStarts) throw new Error(`start failure ${this.starts}`);
    this.ctx = ctx;
    this.sub = ctx.bus.handleInvoke(`echo.${this.name}`, (p) => p);
  }
  async stop(): Promise<void> {
    this.stops++;
    this.log.push(`stop ${this.name}`);
    this.sub?.unsubscribe();
    this.sub = undefined;
  }
  describe() {
    return { starts: this.starts };
  }
}

const fast = { initialDelayMs: 10, maxDelayMs: 40, jitter: 0.2, maxRestarts: 3, budgetWindowMs: 10_000 };

describe('bridge supervision', () => {
  let env: Awaited<ReturnType<typeof memoryBuses>>;
  let bus: BusClient;
  let caller: BusClient;
  before(async () => {
    env = await memoryBuses('bridges', 'caller');
    [bus, caller] = env.buses;
  });
  after(() => env.close());

  it('backoff grows exponentially, is capped and jittered', () => {
    const o = { ...DEFAULT_SUPERVISION, initialDelayMs: 100, maxDelayMs: 1000, factor: 2, jitter: 0.2 };
    assert.equal(
      restartDelay(1, o, () => 0.5),
      100,
    );
    assert.equal(
      restartDelay(2, o, () => 0.5),
      200,
    );
    assert.equal(
      restartDelay(3, o, () => 0.5),
      400,
    );
    assert.equal(
      restartDelay(10, o, () => 0.5),
      1000,
    );
    assert.equal(
      restartDelay(1, o, () => 0),
      80,
    );
    assert.equal(
      restartDelay(1, o, () => 1),
      120,
    );
  });

  it('restarts a bridge whose start fails until it is healthy', async () => {
    const b = new ScriptedBridge('flaky', 2);
    const s = new BridgeSupervisor(b, bus, quietLogger, fast);
    await s.start();
    assert.equal(s.status, 'degraded');
    assert.match(s.health().lastError ?? '', /start failure 1/);
    await until(() => s.status === 'healthy', 2000, 'healthy');
    assert.equal(b.starts, 3);
    assert.equal(s.health().restarts, 2);
    assert.deepEqual(s.health().details, { starts: 3 });
    assert.equal(await caller.invoke('echo.flaky', 'x'), 'x');
    await s.stop();
    assert.equal(s.status, 'stopped');
  });

  it('reportFailure stops and restarts the bridge', async () => {
    const b = new ScriptedBridge('reporting');
    const s = new BridgeSupervisor(b, bus, quietLogger, fast);
    await s.start();
    assert.equal(s.status, 'healthy');
    b.ctx!.reportFailure(new Error('peer connection lost'));
    await until(() => b.stops === 1, 1000, 'stop after failure');
    await until(() => s.status === 'healthy' && b.starts === 2, 2000, 'restarted');
    assert.equal(s.health().restarts, 1);
    assert.equal(s.health().lastError, 'peer connection lost');
    await s.stop();
  });

  it('while a bridge restarts, its targets answer a retryable AGENT_UNAVAILABLE, never NO_HANDLER', async () => {
    const b = new ScriptedBridge('held');
    const slow = { ...fast, initialDelayMs: 300, maxDelayMs: 300, jitter: 0 };
    const s = new BridgeSupervisor(b, bus, quietLogger, slow);
    await s.start();
    assert.equal(await caller.invoke('echo.held', 'hi'), 'hi');
    b.ctx!.reportFailure(new Error('peer connection lost'));
    await until(() => b.stops === 1 && s.status === 'degraded', 1000, 'stopped after the failure');
    await bus.transport.flush();
    await assert.rejects(
      caller.invoke('echo.held', 'hi'),
      (e: { code: string; retryable: boolean; message: string }) =>
        e.code === 'AGENT_UNAVAILABLE' && e.retryable && /restarting: peer connection lost/.test(e.message),
    );
    // A caller with a retry policy rides through the restart.
    assert.equal(await caller.invoke('echo.held', 'again', { retry: { attempts: 20, initialDelay: 50, maxDelay: 100 } }), 'again');
    assert.equal(s.status, 'healthy');
    await s.stop();
    await bus.transport.flush();
    await assert.rejects(caller.invoke('echo.held', 'x'), (e: { code: string }) => e.code === 'NO_HANDLER');
  });

  it('gives up when the restart budget is spent', async () => {
    const b = new ScriptedBridge('broken', 100);
    const s = new BridgeSupervisor(b, bus, quietLogger, fast);
    await s.start();
    await until(() => s.status === 'unhealthy', 3000, 'unhealthy');
    assert.equal(b.starts, 4); // first start + 3 restarts
    assert.equal(s.health().restarts, 3);
    await s.stop();
  });

  it('does not retry a PermanentBridgeError', async () => {
    const b = new ScriptedBridge('perm', 0, true);
    const s = new BridgeSupervisor(b, bus, quietLogger, fast);
    await s.start();
    assert.equal(s.status, 'unhealthy');
    await new Promise((r) => setTimeout(r, 80));
    assert.equal(b.starts, 1);
    assert.equal(s.health().lastError, 'bad credentials');
    await s.stop();
  });

  it('aggregates health', () => {
    assert.equal(aggregateStatus([]), 'healthy');
    assert.equal(aggregateStatus(['healthy', 'healthy']), 'healthy');
    assert.equal(aggregateStatus(['healthy', 'starting']), 'starting');
    assert.equal(aggregateStatus(['healthy', 'degraded']), 'degraded');
    assert.equal(aggregateStatus(['healthy', 'unhealthy', 'degraded']), 'unhealthy');
    assert.equal(aggregateStatus(['stopped']), 'stopped');
  });
});

@Injectable()
class GreeterBridge implements Bridge {
  readonly name = 'greeter';
  readonly type = 'custom';
  static log: string[] = [];
  private sub?: { unsubscribe(): void };
  async start(ctx: BridgeContext) {
    GreeterBridge.log.push('start greeter');
    this.sub = ctx.bus.handleInvoke('greet', (p: { who: string }) => `hello ${p.who}`);
  }
  async stop() {
    GreeterBridge.log.push('stop greeter');
    this.sub?.unsubscribe();
  }
}

describe('BridgeModule', () => {
  it('starts configured bridges on bootstrap, exposes health, stops them in reverse order', async () => {
    const env = await memoryBuses('app', 'caller');
    const [bus, caller] = env.buses;
    const log: string[] = GreeterBridge.log;
    log.length = 0;
    const first = new ScriptedBridge('first', 0, false, log);
    const second = new ScriptedBridge('second', 0, false, log);
    const mod = await Test.createTestingModule({
      imports: [testBusModule(bus), BridgeModule.forRoot({ bridges: [first, second], supervision: fast, bridgeClasses: [GreeterBridge] })],
    }).compile();
    const app = mod.createNestApplication({ logger: false });
    await app.init();
    assert.deepEqual(log, ['start first', 'start second', 'start greeter']);
    assert.equal(await caller.invoke('greet', { who: 'bus' }), 'hello bus');
    assert.equal(await caller.invoke('echo.second', 2), 2);
    const health = app.get(BridgeHealthService).check();
    assert.equal(health.status, 'healthy');
    assert.deepEqual(Object.keys(health.bridges), ['first', 'second', 'greeter']);
    assert.equal(health.bridges.first.restarts, 0);
    await app.close();
    assert.deepEqual(log.slice(3), ['stop greeter', 'stop second', 'stop first']);
    assert.equal(
      app.get(BridgeManager).supervisors.every((s) => s.status === 'stopped'),
      true,
    );
    await env.close();
  });

  it('forRootAsync builds options from a factory; config errors fail start-up naming the key', async () => {
    const env = await memoryBuses('app2');
    const [bus] = env.buses;
    const mod = await Test.createTestingModule({
      imports: [
        testBusModule(bus),
        BridgeModule.forRootAsync({ useFactory: async () => ({ bridges: [new ScriptedBridge('late', 1)], supervision: fast }) }),
      ],
    }).compile();
    const app = mod.createNestApplication({ logger: false });
    await app.init();
    const health = app.get(BridgeHealthService);
    assert.equal(health.get('late')?.status, 'degraded');
    await until(() => health.get('late')?.status === 'healthy', 2000, 'late healthy');
    await app.close();

    await assert.rejects(
      Test.createTestingModule({
        imports: [testBusModule(bus), BridgeModule.forRoot({ config: { version: 'openagentio.bridge/v9', bridges: [] } })],
      }).compile(),
      /version: unknown version "openagentio.bridge\/v9"/,
    );
    await env.close();
  });

  it('failFast turns a permanent start failure into a start-up error', async () => {
    const env = await memoryBuses('app3');
    const mod = await Test.createTestingModule({
      imports: [testBusModule(env.buses[0]), BridgeModule.forRoot({ bridges: [new ScriptedBridge('perm', 0, true)], failFast: true })],
    }).compile();
    const app = mod.createNestApplication({ logger: false });
    await assert.rejects(app.init(), /bridge "perm" failed to start: bad credentials/);
    await app.close().catch(() => undefined);
    await env.close();
  });
});
