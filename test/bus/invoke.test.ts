import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type BusClient, BusError, CallAbortedError, type HandlerContext } from '@openagentio/nestjs';
import { BusCluster, deferred, RecordingLogger, until } from '../support/bus-fixture.js';
import { transportFixtures } from '../support/transports.js';

for (const fixture of transportFixtures) {
  describe(`invoke [${fixture.name}]`, () => {
    let cluster: BusCluster;
    let caller: BusClient;
    let server: BusClient;

    before(async () => {
      cluster = await BusCluster.start(fixture);
      caller = await cluster.bus('caller');
      server = await cluster.bus('server');
    });
    after(async () => {
      cluster.assertAllValid();
      await cluster.close();
    });

    it('returns the handler result and copies nothing back into the caller', async () => {
      await server.handleInvoke('inv.add', ({ a, b }: { a: number; b: number }) => a + b).ready;
      assert.equal(await caller.invoke('inv.add', { a: 2, b: 40 }), 42);
      const reply = await caller.invokeEnvelope('inv.add', { a: 1, b: 1 }, { session_id: 's-1' });
      assert.equal(reply.event_type, 'agent.response.final');
      assert.equal(reply.is_final, true);
      assert.deepEqual(reply.payload, { result: 2 });
      assert.equal(reply.session_id, 's-1');
      assert.equal(reply.from, 'server');
      assert.equal(reply.to, 'caller');
    });

    it('a handler cannot mutate the caller objects', async () => {
      await server.handleInvoke('inv.mutate', (p: { list: number[] }) => {
        p.list.push(99);
        return p.list.length;
      }).ready;
      const payload = { list: [1, 2] };
      assert.equal(await caller.invoke('inv.mutate', payload), 3);
      assert.deepEqual(payload, { list: [1, 2] });
    });

    it('delivers asynchronously: the handler never runs inside the caller call', async () => {
      let running = false;
      let ranInside = false;
      await server.handleInvoke('inv.async', () => {
        ranInside = running;
        return 'ok';
      }).ready;
      running = true;
      const p = caller.invoke('inv.async');
      running = false;
      assert.equal(await p, 'ok');
      assert.equal(ranInside, false);
    });

    it('an error reply throws the typed BusError', async () => {
      await server.handleInvoke('inv.fail', () => {
        throw new BusError('INVALID_REQUEST', 'bad city', { cause: { fields: ['city'] } });
      }).ready;
      await assert.rejects(caller.invoke('inv.fail', {}), (e: BusError) => {
        assert.ok(e instanceof BusError);
        assert.equal(e.code, 'INVALID_REQUEST');
        assert.equal(e.message, 'bad city');
        assert.deepEqual(e.details, { fields: ['city'] });
        assert.equal(e.envelope?.event_type, 'agent.response.error');
        return true;
      });
      await server.handleInvoke('inv.crash', () => {
        throw new Error('connect ECONNREFUSED 10.0.0.5:5432 user=admin password=hunter2');
      }).ready;
      // An unexpected error's text stays in the responder's log; the caller gets an id to find it there.
      let errorId = '';
      await assert.rejects(caller.invoke('inv.crash'), (e: BusError) => {
        assert.equal(e.code, 'AGENT_UNAVAILABLE');
        assert.equal(e.retryable, false);
        assert.doesNotMatch(e.message, /hunter2|10\.0\.0\.5/);
        const m = /^internal error \(error id ([0-9a-f-]{36})\)$/.exec(e.message);
        assert.ok(m, e.message);
        errorId = m[1];
        return true;
      });
      assert.ok(
        (server.logger as RecordingLogger).lines.some(
          (l) => l.startsWith('error ') && l.includes(errorId) && l.includes('password=hunter2'),
        ),
        'the responder logs the real message under the same error id',
      );
      // A bus told to expose error text sends it as it is.
      const open = await cluster.bus('open-server', { exposeErrors: true });
      await open.handleInvoke('inv.crash.open', () => {
        throw new Error('kaput');
      }).ready;
      await assert.rejects(caller.invoke('inv.crash.open'), (e: BusError) => e.message === 'kaput');
    });

    it('a target without a handler fails at once with NO_HANDLER, not after the timeout', async () => {
      const t0 = Date.now();
      await assert.rejects(
        caller.invoke('inv.nobody.home', {}, { timeout: 10_000 }),
        (e: BusError) => e.code === 'NO_HANDLER' && /inv\.nobody\.home/.test(e.message),
      );
      assert.ok(Date.now() - t0 < 2000, `took ${Date.now() - t0} ms`);
    });

    it('invalid target names are clear errors and the bus keeps serving', async () => {
      for (const bad of ['a..b', 'a b', 'inv.*', 'inv.>', '']) {
        await assert.rejects(caller.invoke(bad, {}), (e: BusError) => e.code === 'INVALID_REQUEST', bad);
      }
      assert.throws(
        () => server.handleInvoke('x y', () => 1),
        (e: BusError) => e.code === 'INVALID_REQUEST',
      );
      assert.throws(() => server.handleInvoke('inv.add', () => 1), /already has a handler/);
      await assert.rejects(caller.invoke('inv.add', {}, { metadata: { 'acp.ext': 'x' } }), /reserved/);
      assert.equal(await caller.invoke('inv.add', { a: 1, b: 2 }), 3);
    });

    it('the deadline reaches the handler as an AbortSignal and the caller gets AGENT_TIMEOUT', async () => {
      const aborted = deferred<unknown>();
      let deadlineSeen: number | undefined;
      await server.handleInvoke('inv.slow', (_p, ctx: HandlerContext) => {
        deadlineSeen = ctx.deadline;
        return new Promise((_, reject) => {
          ctx.signal.addEventListener('abort', () => {
            aborted.resolve(ctx.signal.reason);
            reject(ctx.signal.reason);
          });
        });
      }).ready;
      const t0 = Date.now();
      await assert.rejects(caller.invoke('inv.slow', {}, { timeout: 150 }), (e: BusError) => e.code === 'AGENT_TIMEOUT');
      assert.ok(Date.now() - t0 >= 140);
      const reason = (await aborted.promise) as BusError;
      assert.ok(reason instanceof BusError && (reason.code === 'AGENT_TIMEOUT' || reason.code === 'AGENT_UNAVAILABLE'));
      assert.ok(deadlineSeen !== undefined && Math.abs(deadlineSeen - (t0 + 150)) < 100, `deadline ${deadlineSeen} vs ${t0 + 150}`);
    });

    it('a nested call gets the time that is left, never more', async () => {
      const seen: Array<number | undefined> = [];
      await server.handleInvoke('inv.leaf', (_p, ctx: HandlerContext) => {
        seen.push(ctx.deadline);
        return 'leaf';
      }).ready;
      await server.handleInvoke('inv.middle', async (_p, ctx: HandlerContext) => {
        seen.push(ctx.deadline);
        // Asks for far more than the caller allowed: must be capped to the inherited deadline.
        return server.invoke('inv.leaf', {}, { timeout: 60_000 });
      }).ready;
      const t0 = Date.now();
      assert.equal(await caller.invoke('inv.middle', {}, { timeout: 500 }), 'leaf');
      assert.equal(seen.length, 2);
      assert.ok(seen[0]! <= t0 + 600, 'middle deadline');
      assert.ok(seen[1]! <= seen[0]!, `leaf deadline ${seen[1]} must not exceed middle ${seen[0]}`);
    });

    it('aborting the caller signal cancels the call and aborts the remote handler', async () => {
      const handlerAborted = deferred<void>();
      const handlerStarted = deferred<void>();
      await server.handleInvoke('inv.cancel', (_p, ctx: HandlerContext) => {
        handlerStarted.resolve();
        return new Promise((_, reject) =>
          ctx.signal.addEventListener('abort', () => {
            handlerAborted.resolve();
            reject(ctx.signal.reason);
          }),
        );
      }).ready;
      const ac = new AbortController();
      const call = caller.invoke('inv.cancel', {}, { signal: ac.signal, timeout: 10_000 });
      await handlerStarted.promise;
      const reason = new Error('user pressed stop');
      ac.abort(reason);
      // The caller's own abort is an AbortError (as for fetch), still a BusError with its acp/1.0 shape.
      await assert.rejects(call, (e: CallAbortedError) => {
        assert.ok(e instanceof CallAbortedError && e instanceof BusError);
        assert.equal(e.name, 'AbortError');
        assert.equal(e.reason, reason);
        assert.equal(e.code, 'AGENT_UNAVAILABLE');
        assert.equal(e.retryable, false);
        assert.match(e.message, /user pressed stop/);
        return true;
      });
      await handlerAborted.promise;
    });

    it('an invoke aborted with no reason, or before it starts, is an AbortError too', async () => {
      await server.handleInvoke('inv.never', () => new Promise(() => undefined)).ready;
      const ac = new AbortController();
      const call = caller.invoke('inv.never', {}, { signal: ac.signal, timeout: 10_000 });
      ac.abort();
      await assert.rejects(call, (e: Error) => e.name === 'AbortError' && (e as CallAbortedError).reason === ac.signal.reason);
      // Aborted before the start: rejected without a request on the wire (the next call is the handler's first).
      let served = 0;
      await server.handleInvoke('inv.count', () => ++served).ready;
      await assert.rejects(caller.invoke('inv.count', {}, { signal: AbortSignal.abort('too late') }), { name: 'AbortError' });
      assert.equal(await caller.invoke('inv.count'), 1);
    });

    it('a responder that vanishes mid-invoke is noticed by the caller once it has probed (liveness): a retryable AGENT_UNAVAILABLE, not the deadline', async () => {
      const phantom = await cluster.bus('phantom', { livenessInterval: 200 });
      await phantom.handleInvoke(
        'inv.vanish',
        (_p, ctx: HandlerContext) => new Promise((resolve) => ctx.signal.addEventListener('abort', resolve)),
      ).ready;
      const inflight = (phantom as unknown as { responder: { inflight: Map<string, { startedAt: number; lastSeen: number }> } }).responder
        .inflight;
      const t0 = Date.now();
      // metadata keeps the call on the message path on every fixture (a direct call has no responder to lose).
      const watcher = await cluster.bus('watcher', { livenessInterval: 200 });
      const call = watcher.invoke('inv.vanish', {}, { timeout: 60_000, metadata: { test: 'liveness' } });
      const outcome = call.then(
        () => assert.fail('the invoke must not succeed'),
        (err: unknown) => err,
      );
      // The caller has answered a probe (so it knows this responder probes) once the responder heard back.
      await until(() => [...inflight.values()].some((c) => c.lastSeen > c.startedAt), 5000, 'a probe answered');
      // The responder's process "dies": no reply, no more probes, no goodbye.
      inflight.clear();
      await phantom.transport.close();
      const err = (await outcome) as BusError;
      assert.ok(err instanceof BusError, String(err));
      assert.equal(err.code, 'AGENT_UNAVAILABLE');
      assert.equal(err.retryable, true);
      assert.match(err.message, /inv\.vanish.*responder went silent/);
      assert.ok(Date.now() - t0 < 5000, `noticed after ${Date.now() - t0} ms, not at the 60 s deadline`);
      await phantom.close();
    });

    it('replicas share a queue group (default: the target) and the load is balanced', async () => {
      const other = await cluster.bus('server-2');
      const counts = { a: 0, b: 0 };
      await server.handleInvoke('inv.lb', () => ++counts.a && 'a').ready;
      await other.handleInvoke('inv.lb', () => ++counts.b && 'b').ready;
      await other.transport.flush();
      for (let i = 0; i < 40; i++) await caller.invoke('inv.lb');
      assert.equal(counts.a + counts.b, 40, 'each request served exactly once');
      assert.ok(counts.a >= 5 && counts.b >= 5, `balanced: ${JSON.stringify(counts)}`);
    });

    it('a per-target concurrency limit answers BACKPRESSURE_DROP past it', async () => {
      const release = deferred<void>();
      await server.handleInvoke('inv.limited', () => release.promise.then(() => 'done'), { concurrency: 1 }).ready;
      const first = caller.invoke('inv.limited');
      await until(() => server.stats.requestsServed > 0 && true, 2000);
      await new Promise((r) => setTimeout(r, 20));
      await assert.rejects(caller.invoke('inv.limited'), (e: BusError) => e.code === 'BACKPRESSURE_DROP' && e.retryable);
      release.resolve();
      assert.equal(await first, 'done');
    });

    it('a result that cannot be encoded becomes an error frame, not a hang', async () => {
      await server.handleInvoke('inv.bigint', () => ({ n: BigInt(1) })).ready;
      await assert.rejects(caller.invoke('inv.bigint', {}, { timeout: 2000 }), (e: BusError) => e.code === 'CODEC_FAILURE');
    });

    it('payloads nest as deeply as JSON allows on every transport: 2,000 levels pass, a cycle or 200,000 levels are a non-retryable CODEC_FAILURE', async () => {
      const nested = (levels: number): unknown => {
        let v: unknown = 'core';
        for (let i = 0; i < levels; i++) v = i % 2 ? { v } : [v];
        return v;
      };
      const depthOf = (v: unknown): number => {
        let d = 0;
        while (v !== null && typeof v === 'object') {
          v = Array.isArray(v) ? v[0] : (v as { v: unknown }).v;
          d++;
        }
        return d;
      };
      await server.handleInvoke('inv.depth', (p: unknown) => depthOf(p)).ready;
      assert.equal(await caller.invoke('inv.depth', nested(2000)), 2000);
      const cycle: Record<string, unknown> = { a: 1 };
      cycle.self = cycle;
      for (const bad of [cycle, nested(200_000)]) {
        const served = server.stats.requestsServed;
        await assert.rejects(caller.invoke('inv.depth', bad, { retry: { attempts: 3 } }), (e: BusError) => {
          assert.equal(e.code, 'CODEC_FAILURE');
          assert.equal(e.retryable, false);
          return true;
        });
        assert.equal(server.stats.requestsServed, served, 'nothing reached the handler');
      }
      assert.equal(await caller.invoke('inv.depth', nested(3)), 3, 'the bus keeps serving');
    });

    it('unsubscribing a handler makes the target NO_HANDLER again', async () => {
      const reg = server.handleInvoke('inv.temp', () => 1);
      await reg.ready;
      assert.equal(await caller.invoke('inv.temp'), 1);
      reg.unsubscribe();
      await server.transport.flush();
      await assert.rejects(caller.invoke('inv.temp'), (e: BusError) => e.code === 'NO_HANDLER');
    });
  });
}
