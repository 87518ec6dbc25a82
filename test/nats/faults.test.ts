import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BusClient, BusError, type ErrorCode, NatsTransport, type NatsTransportOptions } from '@openagentio/nestjs';
import { NatsServer, startCluster } from '../support/nats-server.js';
import { deferred, nextStatus, quietLogger, within } from './helpers.js';

function bus(agentId: string, opts: NatsTransportOptions): BusClient {
  return new BusClient(new NatsTransport({ reconnectTimeWait: 50, reconnectJitter: 20, logger: quietLogger, ...opts }), {
    agentId,
    logger: quietLogger,
  });
}

type Outcome = { ok: unknown } | { err: BusError };
const settle = (p: Promise<unknown>): Promise<Outcome> =>
  p.then(
    (ok) => ({ ok }),
    (err: BusError) => ({ err }),
  );

/**
 * The retry policy of the cluster run: up to 20 tries of at most 500 ms each, with backoff and jitter. While the
 * cluster re-routes interest after losing a node, a request can briefly find no responder at all, so NO_HANDLER
 * (final by default) is retried here too, as a deployment with replicas across a cluster would configure it.
 */
const RETRY = {
  retry: {
    attempts: 20,
    attemptTimeout: 500,
    initialDelay: 25,
    maxDelay: 200,
    retryOn: ['NO_HANDLER', 'AGENT_TIMEOUT', 'AGENT_UNAVAILABLE', 'TRANSPORT_FAILURE', 'BACKPRESSURE_DROP'] as ErrorCode[],
  },
  timeout: 20_000,
};

describe('NATS faults', () => {
  const cleanup: Array<() => Promise<void>> = [];
  after(async () => {
    for (const c of cleanup.reverse()) await c().catch(() => undefined);
  });

  it('server restart mid-run: calls in flight end with retryable TRANSPORT_FAILURE, subscriptions come back', async () => {
    const server = await NatsServer.start();
    cleanup.push(() => server.stop());
    const caller = bus('caller', { servers: server.url });
    const worker = bus('worker', { servers: server.url });
    cleanup.push(
      () => caller.close(),
      () => worker.close(),
    );
    await caller.connect();
    await worker.connect();
    const started = deferred();
    let running = 0;
    worker.handleInvoke('slow', async (p: number, ctx) => {
      if (++running === 10) started.resolve();
      await new Promise((r, j) => {
        const t = setTimeout(r, 300);
        ctx.signal.addEventListener('abort', () => (clearTimeout(t), j(ctx.signal.reason)));
      });
      return p;
    });
    worker.handleStream('ticks', async function* () {
      for (let i = 0; i < 1000; i++) {
        yield i;
        await new Promise((r) => setTimeout(r, 5));
      }
    });
    await worker.transport.flush();

    const calls = Array.from({ length: 10 }, (_, i) => settle(caller.invoke('slow', i, { timeout: 3000 })));
    const stream = caller.stream('ticks', {}, { timeout: 3000 });
    const streamDone = settle(
      (async () => {
        let n = 0;
        for await (const _ of stream) n++;
        return n;
      })(),
    );
    await started.promise;
    const callerDown = nextStatus(caller.transport, 'disconnected');
    const callerUp = nextStatus(caller.transport, 'connected');
    const workerUp = nextStatus(worker.transport, 'connected');
    const t0 = Date.now();
    await server.kill();
    await callerDown;

    const outcomes = await within(Promise.all(calls), 2500, 'calls in flight at the crash');
    for (const o of outcomes) {
      if ('err' in o) {
        assert.equal(o.err.code, 'TRANSPORT_FAILURE', o.err.message);
        assert.equal(o.err.retryable, true);
      }
    }
    assert.ok(
      outcomes.some((o) => 'err' in o),
      'the calls in flight at the crash failed',
    );
    const s = await within(streamDone, 2500, 'stream in flight at the crash');
    assert.ok('err' in s && s.err.code === 'TRANSPORT_FAILURE' && s.err.retryable, 'the stream failed with a retryable TRANSPORT_FAILURE');
    assert.ok(Date.now() - t0 < 2500);

    await server.startAgain();
    await within(Promise.all([callerUp, workerUp]), 5000, 'reconnect');
    assert.equal(caller.transport.status, 'connected');
    await worker.transport.flush(); // the worker's re-sent subscriptions have reached the server
    assert.equal(await caller.invoke('slow', 42, { timeout: 3000 }), 42);
    const again = [];
    for await (const f of caller.stream('ticks', {}, { timeout: 3000 })) {
      again.push(f);
      if (again.length === 3) break;
    }
    assert.equal(again.length, 3);
  });

  it('3-node cluster: killing the responder’s node moves traffic to the others, zero failed invokes with retries', async () => {
    const nodes = await startCluster(3);
    cleanup.push(() => Promise.all(nodes.map((n) => n.stop())).then(() => undefined));
    // r1 knows only node 0 and learns the others from the cluster (INFO connect_urls)
    const r1 = bus('r1', { servers: nodes[0].url });
    const r2 = bus('r2', { servers: nodes[1].url });
    const caller = bus('caller', { servers: nodes[2].url });
    cleanup.push(
      () => caller.close(),
      () => r1.close(),
      () => r2.close(),
    );
    await Promise.all([r1.connect(), r2.connect(), caller.connect()]);
    const served = { r1: 0, r2: 0 };
    r1.handleInvoke('svc.echo', (p: number) => (served.r1++, p));
    r2.handleInvoke('svc.echo', (p: number) => (served.r2++, p));
    await Promise.all([r1.transport.flush(), r2.transport.flush()]);

    const r1Moved = nextStatus(r1.transport, 'connected');
    const total = 200;
    let next = 0;
    let failures = 0;
    const failed: string[] = [];
    let killed: Promise<void> | undefined;
    let servedAtKill = 0;
    const results = new Array<number>(total);
    const workerLoop = async () => {
      while (next < total) {
        const i = next++;
        if (i === 60) {
          servedAtKill = served.r1;
          killed = nodes[0].kill();
        }
        try {
          results[i] = await caller.invoke<number>('svc.echo', i, RETRY);
        } catch (err) {
          failures++;
          failed.push(`${(err as BusError).code}: ${(err as Error).message}`);
        }
      }
    };
    await within(Promise.all(Array.from({ length: 8 }, workerLoop)), 30_000, 'invoke run');
    await killed;
    assert.equal(failures, 0, `failed invokes: ${[...new Set(failed)].join(' | ')}`);
    assert.deepEqual(
      results,
      Array.from({ length: total }, (_, i) => i),
    );
    const detail = await within(r1Moved, 10_000, 'r1 reconnect');
    assert.ok(detail && !detail.includes(`:${nodes[0].port}`), `r1 reconnected to another node (${detail})`);
    // after the move, r1 still serves: stop r2, and the calls go to r1 on its new node
    await r2.close();
    await r1.transport.flush();
    const before = served.r1;
    for (let i = 0; i < 5; i++) assert.equal(await caller.invoke<number>('svc.echo', i, RETRY), i);
    assert.ok(served.r1 >= before + 5);
    assert.ok(servedAtKill > 0, 'r1 (on the killed node) was taking traffic before the kill');
  });
  it('3-node cluster: a frozen node (SIGSTOP) costs the callers connected to it at most the ping bound, their retries go over a new connection', async () => {
    const nodes = await startCluster(3);
    cleanup.push(async () => {
      nodes[0].thaw();
      await Promise.all(nodes.map((n) => n.stop()));
    });
    const responder = bus('frz-r', { servers: nodes[1].url });
    // Default pingInterval/maxPingOut (1 s, 3): the frozen server is dropped within 4 s. nats.js's own default
    // (2 min × 2) left every retry on the dead connection until the call's deadline.
    const caller = bus('frz-caller', { servers: nodes[0].url });
    cleanup.push(
      () => caller.close(),
      () => responder.close(),
    );
    await Promise.all([responder.connect(), caller.connect()]);
    responder.handleInvoke('svc.slow', async (p: number) => (await new Promise((r) => setTimeout(r, 200)), p));
    await responder.transport.flush();
    assert.equal(await caller.invoke<number>('svc.slow', -1, RETRY), -1);
    const moved = nextStatus(caller.transport, 'connected');
    const t0 = Date.now();
    const calls = Array.from({ length: 6 }, (_, i) => settle(caller.invoke<number>('svc.slow', i, RETRY)));
    nodes[0].freeze();
    const outcomes = await within(Promise.all(calls), 20_000, 'calls through the frozen node');
    const elapsed = Date.now() - t0;
    assert.deepEqual(
      outcomes.map((o) => ('ok' in o ? o.ok : `${o.err.code}: ${o.err.message}`)),
      [0, 1, 2, 3, 4, 5],
    );
    const detail = await within(moved, 1000, 'caller reconnect');
    assert.ok(detail && !detail.includes(`:${nodes[0].port}`), `caller moved to another node (${detail})`);
    // 4 s to notice the frozen server, then a reconnect elsewhere and the retries.
    assert.ok(elapsed < 6000, `calls took ${elapsed} ms`);
  });
});
