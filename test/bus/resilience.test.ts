import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type BusClient, BusError, type Envelope, type HandlerContext } from '@openagentio/nestjs';
import { BusCluster, deferred, until } from '../support/bus-fixture.js';
import { transportFixtures } from '../support/transports.js';

const FAST = { initialDelay: 5, maxDelay: 20 };

for (const fixture of transportFixtures) {
  describe(`resilience [${fixture.name}]`, () => {
    let cluster: BusCluster;
    let caller: BusClient;
    let server: BusClient;

    before(async () => {
      cluster = await BusCluster.start(fixture);
      caller = await cluster.bus('caller', { policies: { targets: { 'rs.per-target': { timeout: 100 } } } });
      server = await cluster.bus('server');
    });
    after(async () => {
      cluster.assertAllValid();
      await cluster.close();
    });

    it('retries retryable errors with backoff; the attempt number travels in metadata', async () => {
      const attempts: unknown[] = [];
      await server.handleInvoke('rs.flaky', (_p, ctx: HandlerContext) => {
        attempts.push(ctx.envelope.metadata?.['acp.attempt']);
        if (attempts.length < 3) throw new BusError('AGENT_UNAVAILABLE', 'warming up', { retryable: true });
        return 'ok';
      }).ready;
      assert.equal(await caller.invoke('rs.flaky', {}, { retry: { attempts: 3, ...FAST } }), 'ok');
      assert.deepEqual(attempts, [1, 2, 3]);
    });

    it('attemptTimeout: a try that gets no answer times out in time for another try', async () => {
      let calls = 0;
      await server.handleInvoke('rs.lost-first', () => (++calls === 1 ? new Promise(() => undefined) : 'second try')).ready;
      const t0 = Date.now();
      assert.equal(
        await caller.invoke('rs.lost-first', {}, { timeout: 5000, retry: { attempts: 3, attemptTimeout: 100, ...FAST } }),
        'second try',
      );
      assert.ok(Date.now() - t0 < 1000, `took ${Date.now() - t0} ms`);
      assert.equal(calls, 2);
      await until(
        () =>
          server.stats.requestsServed > 0 && (server as unknown as { responder: { inflightCount: number } }).responder.inflightCount === 0,
        2000,
        'the ignored try to release its slot',
      );
    });

    it('honours the retryable flag: a non-retryable error is tried once', async () => {
      let calls = 0;
      await server.handleInvoke('rs.bad', () => {
        calls++;
        throw new BusError('INVALID_REQUEST', 'no');
      }).ready;
      await assert.rejects(caller.invoke('rs.bad', {}, { retry: { attempts: 5, ...FAST } }), (e: BusError) => e.code === 'INVALID_REQUEST');
      assert.equal(calls, 1);
    });

    it('retries never run past the deadline', async () => {
      let calls = 0;
      await server.handleInvoke('rs.always-busy', () => {
        calls++;
        throw new BusError('BACKPRESSURE_DROP', 'busy');
      }).ready;
      const t0 = Date.now();
      await assert.rejects(
        caller.invoke('rs.always-busy', {}, { timeout: 150, retry: { attempts: 100, initialDelay: 20, maxDelay: 40 } }),
        BusError,
      );
      assert.ok(Date.now() - t0 < 400, `took ${Date.now() - t0} ms`);
      assert.ok(calls >= 2 && calls < 100, `calls ${calls}`);
    });

    it('a stream is retried only while nothing has arrived from it', async () => {
      const release = deferred<void>();
      let served = 0;
      await server.handleStream(
        'rs.busy-stream',
        async function* () {
          served++;
          await release.promise;
          yield 'x';
          return 'done';
        },
        { concurrency: 1 },
      ).ready;
      const first = caller.stream('rs.busy-stream').result();
      await until(() => served === 1);
      // The second call meets the concurrency limit (BACKPRESSURE_DROP, before any frame) and is retried.
      const second = caller.stream('rs.busy-stream', {}, { retry: { attempts: 20, initialDelay: 10, maxDelay: 20 } }).result();
      await new Promise((r) => setTimeout(r, 30));
      release.resolve();
      assert.equal(await first, 'done');
      assert.equal(await second, 'done');
      assert.ok(caller.stats.retries >= 1);

      let runs = 0;
      await server.handleStream('rs.mid-failure', async function* () {
        runs++;
        yield 'partial';
        throw new BusError('AGENT_UNAVAILABLE', 'lost the model', { retryable: true });
      }).ready;
      await assert.rejects(caller.stream('rs.mid-failure', {}, { retry: { attempts: 5, ...FAST } }).text(), /lost the model/);
      assert.equal(runs, 1, 'a stream that delivered frames is never retried');
    });

    it('the circuit breaker opens on failures, fails fast, and closes after a successful half-open probe', async () => {
      let calls = 0;
      let healthy = false;
      await server.handleInvoke('rs.breaker', () => {
        calls++;
        if (!healthy) throw new BusError('AGENT_UNAVAILABLE', 'down', { retryable: true });
        return 'up';
      }).ready;
      const breaker = { failureRatio: 0.5, minimumCalls: 4, window: 10_000, openFor: 100 };
      for (let i = 0; i < 4; i++) await assert.rejects(caller.invoke('rs.breaker', {}, { circuitBreaker: breaker }));
      assert.equal(calls, 4);
      await assert.rejects(
        caller.invoke('rs.breaker', {}, { circuitBreaker: breaker }),
        (e: BusError) => e.code === 'AGENT_UNAVAILABLE' && e.retryable && /circuit/.test(e.message),
      );
      assert.equal(calls, 4, 'an open circuit fails fast without calling the target');
      assert.equal(caller.breakerFor('rs.breaker').currentState, 'open');
      await new Promise((r) => setTimeout(r, 120));
      healthy = true;
      assert.equal(caller.breakerFor('rs.breaker').currentState, 'half-open');
      assert.equal(await caller.invoke('rs.breaker', {}, { circuitBreaker: breaker }), 'up');
      assert.equal(caller.breakerFor('rs.breaker').currentState, 'closed');
    });

    it('breakerFor(target) before the first call takes the configured policy, not the defaults', async () => {
      await server.handleInvoke('rs.configured', () => {
        throw new BusError('AGENT_UNAVAILABLE', 'down', { retryable: true });
      }).ready;
      const configured = await cluster.bus('configured-caller', {
        policies: {
          targets: { 'rs.configured': { circuitBreaker: { failureRatio: 0.5, minimumCalls: 2, window: 10_000, openFor: 60_000 } } },
        },
      });
      const breaker = configured.breakerFor('rs.configured');
      assert.equal(breaker.currentState, 'closed');
      for (let i = 0; i < 2; i++) await assert.rejects(configured.invoke('rs.configured', {}));
      // With the defaults (10 calls before the ratio counts) it would still be closed.
      assert.equal(breaker.currentState, 'open');
    });

    it('a bulkhead bounds concurrent calls and answers BACKPRESSURE_DROP past its queue', async () => {
      const gate = deferred<void>();
      let concurrent = 0;
      let peak = 0;
      await server.handleInvoke('rs.bulkhead', async () => {
        peak = Math.max(peak, ++concurrent);
        await gate.promise;
        concurrent--;
        return 'ok';
      }).ready;
      const bh = { bulkhead: { maxConcurrent: 1, maxQueue: 1 } };
      const a = caller.invoke('rs.bulkhead', {}, bh);
      const b = caller.invoke('rs.bulkhead', {}, bh);
      await assert.rejects(
        caller.invoke('rs.bulkhead', {}, bh),
        (e: BusError) => e.code === 'BACKPRESSURE_DROP' && /bulkhead/.test(e.message),
      );
      gate.resolve();
      assert.deepEqual(await Promise.all([a, b]), ['ok', 'ok']);
      assert.equal(peak, 1);
    });

    it('per-target timeouts from the bus policies apply, and an enclosing deadline still wins', async () => {
      await server.handleInvoke('rs.per-target', () => new Promise((r) => setTimeout(() => r('late'), 400))).ready;
      const t0 = Date.now();
      await assert.rejects(caller.invoke('rs.per-target'), (e: BusError) => e.code === 'AGENT_TIMEOUT');
      assert.ok(Date.now() - t0 < 350);
      let nestedDeadline: number | undefined;
      await server.handleInvoke('rs.leaf', (_p, ctx: HandlerContext) => ((nestedDeadline = ctx.deadline), 'x')).ready;
      await server.handleInvoke('rs.outer', () => server.invoke('rs.leaf', {}, { timeout: 60_000, retry: { attempts: 2 } })).ready;
      const t1 = Date.now();
      await caller.invoke('rs.outer', {}, { timeout: 300 });
      assert.ok(nestedDeadline! <= t1 + 400, 'the nested call kept the enclosing deadline');
    });

    it('handler options: timeout caps the handler, retry re-runs it on retryable errors', async () => {
      const aborted = deferred<unknown>();
      await server.handleInvoke(
        'rs.handler-timeout',
        (_p, ctx: HandlerContext) =>
          new Promise((_, reject) =>
            ctx.signal.addEventListener('abort', () => (aborted.resolve(ctx.signal.reason), reject(ctx.signal.reason))),
          ),
        { timeout: 50 },
      ).ready;
      await assert.rejects(caller.invoke('rs.handler-timeout', {}, { timeout: 5000 }), (e: BusError) => e.code === 'AGENT_TIMEOUT');
      assert.equal(((await aborted.promise) as BusError).code, 'AGENT_TIMEOUT');
      let runs = 0;
      await server.handleInvoke(
        'rs.handler-retry',
        () => {
          if (++runs < 3) throw new BusError('TRANSPORT_FAILURE', 'db blip');
          return runs;
        },
        { retry: { attempts: 3, ...FAST } },
      ).ready;
      assert.equal(await caller.invoke('rs.handler-retry'), 3);
    });

    it('a subscriber that fails for good is retried, then its event is dead-lettered with the error', async () => {
      const dead: Envelope[] = [];
      const dlqSub = server.transport.subscribe(
        server.subjects.deadLetter('rs.orders.created'),
        (m) => m.envelope && dead.push(m.envelope),
      );
      await server.transport.flush();
      let tries = 0;
      await server.subscribe(
        'rs.orders.*',
        () => {
          tries++;
          throw new BusError('AGENT_UNAVAILABLE', 'inventory down', { retryable: true });
        },
        { retry: { attempts: 3, ...FAST } },
      ).ready;
      let quietTries = 0;
      await server.subscribe(
        'rs.orders.created',
        () => {
          quietTries++;
          throw new Error('no dead letter for me');
        },
        { deadLetter: false },
      ).ready;
      const sent = await caller.publish('rs.orders.created', { id: 7 }, { session_id: 'dlq-s' });
      await until(() => dead.length === 1 && tries === 3 && quietTries === 1);
      const d = dead[0];
      assert.equal(d.event_id, sent.event_id);
      assert.equal(d.event_type, 'rs.orders.created');
      assert.equal(d.session_id, 'dlq-s');
      assert.deepEqual(d.payload, { id: 7 });
      assert.equal(d.metadata?.dlq_error_code, 'AGENT_UNAVAILABLE');
      assert.equal(d.metadata?.dlq_error_message, 'inventory down');
      assert.equal(d.metadata?.dlq_attempts, 3);
      assert.equal(d.metadata?.dlq_consumer, 'rs.orders.*');
      await new Promise((r) => setTimeout(r, 30));
      assert.equal(dead.length, 1, 'deadLetter:false publishes nothing');
      dlqSub.unsubscribe();
    });
  });
}
