import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  type BusClient,
  BusError,
  type ErrorCode,
  type HandlerContext,
  ParallelError,
  type ParallelEvent,
  type ParallelResult,
  type StreamWriter,
} from '@openagentio/nestjs';
import { BusCluster, until } from '../support/bus-fixture.js';
import { transportFixtures } from '../support/transports.js';
import { abortable } from './helpers.js';

type StreamCtx = HandlerContext & { writer: StreamWriter };

/** Measured abort latencies (decision → loser's handler signal), printed at the end for the report. */
const latencies: string[] = [];

for (const fixture of transportFixtures) {
  // Losers' handler signals must fire this soon after the outcome is decided (issue 17, "done when" 1).
  const abortBudgetMs = fixture.name === 'nats' ? 500 : 100;

  describe(`parallel fan-out [${fixture.name}]`, () => {
    let cluster: BusCluster;
    let caller: BusClient;
    let server: BusClient;
    /** When each tagged handler's AbortSignal fired (epoch ms). */
    const aborted = new Map<string, number>();
    /** What each tagged handler saw of its call. */
    const seen = new Map<string, { session?: string; trace?: string; deadline?: number }>();

    before(async () => {
      cluster = await BusCluster.start(fixture);
      caller = await cluster.bus('caller', { livenessInterval: 200 });
      server = await cluster.bus('server', { livenessInterval: 200 });
      const watch = (tag: string, ctx: HandlerContext) => {
        seen.set(tag, { session: ctx.session.session_id, trace: ctx.trace.trace_id, deadline: ctx.deadline });
        ctx.signal.addEventListener('abort', () => aborted.set(tag, Date.now()), { once: true });
      };
      // Answers `tag` after `ms` (or fails with `code`); a cancelled call aborts the wait.
      await server.handleInvoke('par.work', async (p: { tag: string; ms: number; code?: ErrorCode }, ctx) => {
        watch(p.tag, ctx);
        await abortable(p.ms, ctx.signal);
        if (p.code) throw new BusError(p.code, `${p.tag} failed`);
        return { tag: p.tag };
      }).ready;
      // Streams `words`, one every `ms`; the final result counts them.
      await server.handleStream('par.words', async (p: { tag: string; words: string[]; ms: number }, ctx: StreamCtx) => {
        watch(p.tag, ctx);
        for (const w of p.words) {
          await abortable(p.ms, ctx.signal);
          await ctx.writer.delta(w);
        }
        return { tag: p.tag, count: p.words.length };
      }).ready;
      // A handler that fans out itself: its branches inherit its session, trace, deadline and cancellation.
      await server.handleInvoke('par.nested', async (p: { tags: string[]; ms: number }) => {
        const r = await server.parallel(p.tags.map((tag) => ({ name: tag, invoke: 'par.work', payload: { tag, ms: p.ms } })));
        return r.values;
      }).ready;
    });
    after(async () => {
      cluster.assertAllValid();
      await cluster.close();
      if (fixture === transportFixtures.at(-1))
        console.log(`abort latencies (decision → loser's handler signal):\n  ${latencies.join('\n  ')}`);
    });

    const work = (tag: string, ms: number, code?: ErrorCode) => ({ name: tag, invoke: 'par.work', payload: { tag, ms, code } });
    const statuses = (r: ParallelResult) => Object.fromEntries(r.branches.map((b) => [b.name, b.status]));
    /** When the fan-out's outcome was decided (its start plus its duration): latencies are measured from there. */
    const decidedAt = (r: ParallelResult) => r.branches[0].startedAt + r.durationMs;
    const rejection = async (p: Promise<unknown>): Promise<ParallelError> => {
      try {
        await p;
      } catch (err) {
        assert.ok(err instanceof ParallelError, `a ParallelError, not ${String(err)}`);
        return err;
      }
      assert.fail('expected the fan-out to fail');
    };
    /** Waits for the tagged handlers' signals and checks they fired within the budget after `decidedAt`. */
    const assertAbortedSoon = async (tags: string[], decidedAt: number, what: string) => {
      await until(() => tags.every((t) => aborted.has(t)), abortBudgetMs + 2000, `${what}: losers aborted`);
      for (const t of tags) {
        const ms = aborted.get(t)! - decidedAt;
        latencies.push(`${fixture.name.padEnd(38)} ${what.padEnd(24)} ${t}: ${ms} ms`);
        assert.ok(ms <= abortBudgetMs, `${t}: handler signal aborted ${ms} ms after the decision (budget ${abortBudgetMs} ms)`);
      }
    };

    it('all: every value in branch order, each outcome with its duration', async () => {
      const r = await caller.parallel<{ tag: string }>([work('all-a', 300), work('all-b', 50), work('all-c', 150)], { mode: 'all' });
      assert.equal(r.mode, 'all');
      assert.deepEqual(r.winners, ['all-a', 'all-b', 'all-c']);
      assert.deepEqual(r.values, [{ tag: 'all-a' }, { tag: 'all-b' }, { tag: 'all-c' }]);
      assert.deepEqual(statuses(r), { 'all-a': 'ok', 'all-b': 'ok', 'all-c': 'ok' });
      assert.deepEqual(
        r.branches.map((b) => [b.index, b.target, b.kind]),
        [
          [0, 'par.work', 'invoke'],
          [1, 'par.work', 'invoke'],
          [2, 'par.work', 'invoke'],
        ],
      );
      // Side by side, not one after the other: one after the other takes at least 500 ms, side by side the slowest
      // branch's 300 ms plus scheduling (the margin is wide: a loaded 2-core machine adds tens of ms).
      assert.ok(r.branches[0].durationMs >= 280, `all-a took ${r.branches[0].durationMs} ms`);
      assert.ok(r.durationMs < 300 + 150, `fan-out took ${r.durationMs} ms`);
      assert.ok(r.branches.every((b) => b.durationMs <= r.durationMs));
      assert.deepEqual(await r.settled, r.branches);
    });

    it('all: the first failure fails it at once with that error, and the branches still running are cancelled', async () => {
      const started = Date.now();
      const err = await rejection(caller.parallel([work('allf-slow', 10_000), work('allf-bad', 5, 'INVALID_REQUEST'), work('allf-ok', 1)]));
      assert.ok(Date.now() - started < 2000, 'decided at the failure, not when the slow branch would have ended');
      assert.equal(err.code, 'INVALID_REQUEST');
      assert.match(err.message, /parallel \(all\): branch "allf-bad" failed: allf-bad failed/);
      assert.deepEqual(statuses(err.result), { 'allf-slow': 'cancelled', 'allf-bad': 'error', 'allf-ok': 'ok' });
      assert.deepEqual(err.result.branches[1].error, { code: 'INVALID_REQUEST', message: 'allf-bad failed', retryable: false });
      assert.equal(err.result.branches[0].error?.cause?.reason, 'cancelled');
      assert.deepEqual(err.toPayload().cause, {
        reason: 'parallel',
        mode: 'all',
        branches: [
          { name: 'allf-slow', status: 'cancelled', code: 'AGENT_UNAVAILABLE' },
          { name: 'allf-bad', status: 'error', code: 'INVALID_REQUEST' },
          { name: 'allf-ok', status: 'ok' },
        ],
      });
      await assertAbortedSoon(['allf-slow'], decidedAt(err.result), 'all, after a failure');
    });

    it('all-settled: ok, error, timed out past branchTimeout, each exactly, and it does not throw', async () => {
      const r = await caller.parallel(
        [
          work('set-ok', 5),
          work('set-bad', 5, 'AGENT_UNAVAILABLE'),
          work('set-slow', 10_000),
          { ...work('set-own', 10_000), options: { timeout: 150 } },
        ],
        { mode: 'all-settled', branchTimeout: 100 },
      );
      assert.deepEqual(statuses(r), { 'set-ok': 'ok', 'set-bad': 'error', 'set-slow': 'timed-out', 'set-own': 'timed-out' });
      assert.deepEqual(r.winners, ['set-ok']);
      assert.deepEqual(r.values, [{ tag: 'set-ok' }]);
      assert.equal(r.branches[1].error?.code, 'AGENT_UNAVAILABLE');
      assert.equal(r.branches[2].error?.code, 'AGENT_TIMEOUT');
      assert.ok(r.branches[2].durationMs >= 95 && r.branches[2].durationMs < 1000, `set-slow: ${r.branches[2].durationMs} ms`);
      // The branch's own timeout wins over branchTimeout.
      assert.ok(r.branches[3].durationMs >= 145, `set-own: ${r.branches[3].durationMs} ms`);
      await until(() => aborted.has('set-slow') && aborted.has('set-own'), 2000, 'timed-out handlers aborted');
    });

    it('a branch past its branchTimeout is timed out while the others succeed (all-settled and quorum)', async () => {
      const r = await caller.parallel([work('bt-a', 5), work('bt-slow', 10_000), work('bt-b', 10)], {
        mode: 'all-settled',
        branchTimeout: 80,
      });
      assert.deepEqual(statuses(r), { 'bt-a': 'ok', 'bt-slow': 'timed-out', 'bt-b': 'ok' });
      const q = await caller.parallel([work('btq-a', 5), work('btq-slow', 10_000), work('btq-b', 10)], {
        mode: 'quorum',
        quorum: 2,
        branchTimeout: 5000,
      });
      assert.deepEqual(q.winners.sort(), ['btq-a', 'btq-b']);
    });

    it('first-success: the first to succeed wins at once; the losers are cancelled within the budget', async () => {
      const r = await caller.parallel<{ tag: string }>(
        [work('fs-slow1', 10_000), work('fs-fail', 1, 'AGENT_UNAVAILABLE'), work('fs-fast', 20), work('fs-slow2', 10_000)],
        { mode: 'first-success' },
      );
      assert.deepEqual(r.winners, ['fs-fast']);
      assert.deepEqual(r.values, [{ tag: 'fs-fast' }]);
      assert.deepEqual(statuses(r), { 'fs-slow1': 'cancelled', 'fs-fail': 'error', 'fs-fast': 'ok', 'fs-slow2': 'cancelled' });
      assert.ok(r.durationMs < 2000);
      await assertAbortedSoon(['fs-slow1', 'fs-slow2'], decidedAt(r), 'first-success');
    });

    it('first-success: when every branch fails, one error with every outcome; their common code when they share one', async () => {
      const err = await rejection(
        caller.parallel([work('fsf-a', 1, 'AGENT_UNAVAILABLE'), work('fsf-b', 5, 'AGENT_UNAVAILABLE')], { mode: 'first-success' }),
      );
      assert.equal(err.code, 'AGENT_UNAVAILABLE');
      assert.match(err.message, /every branch failed \(fsf-a: AGENT_UNAVAILABLE fsf-a failed; fsf-b: AGENT_UNAVAILABLE fsf-b failed\)/);
      const mixed = await rejection(
        caller.parallel([work('fsm-a', 1, 'INVALID_REQUEST'), work('fsm-b', 10_000)], { mode: 'first-success', branchTimeout: 50 }),
      );
      assert.equal(mixed.code, 'AGENT_UNAVAILABLE');
      assert.deepEqual(statuses(mixed.result), { 'fsm-a': 'error', 'fsm-b': 'timed-out' });
    });

    it('quorum: decided by the first n successes, in the order they came; the rest cancelled within the budget', async () => {
      const r = await caller.parallel<{ tag: string }>([work('q-slow', 10_000), work('q-b', 30), work('q-a', 5), work('q-c', 10_000)], {
        mode: 'quorum',
        quorum: 2,
      });
      assert.deepEqual(r.winners, ['q-a', 'q-b']);
      assert.deepEqual(r.values, [{ tag: 'q-a' }, { tag: 'q-b' }]);
      assert.deepEqual(statuses(r), { 'q-slow': 'cancelled', 'q-b': 'ok', 'q-a': 'ok', 'q-c': 'cancelled' });
      await assertAbortedSoon(['q-slow', 'q-c'], decidedAt(r), 'quorum reached');
    });

    it('quorum: one that can no longer be reached fails at once, long before the slow branch would end', async () => {
      const started = Date.now();
      const err = await rejection(
        caller.parallel([work('qi-slow', 10_000), work('qi-bad1', 5, 'AGENT_UNAVAILABLE'), work('qi-bad2', 15, 'AGENT_UNAVAILABLE')], {
          mode: 'quorum',
          quorum: 2,
        }),
      );
      assert.ok(Date.now() - started < 1000, `failed after ${Date.now() - started} ms; the slow branch needs 10 s`);
      assert.equal(err.code, 'AGENT_UNAVAILABLE');
      assert.match(err.message, /quorum 2 of 3\): cannot be reached, 0 succeeded and 1 still running/);
      assert.deepEqual(statuses(err.result), { 'qi-slow': 'cancelled', 'qi-bad1': 'error', 'qi-bad2': 'error' });
      await assertAbortedSoon(['qi-slow'], decidedAt(err.result), 'quorum impossible');
    });

    it('a caller cancel aborts every branch and rejects with AbortError', async () => {
      const ac = new AbortController();
      const fan = caller.parallel(
        [
          work('cc-a', 10_000),
          work('cc-b', 10_000),
          { name: 'cc-s', stream: 'par.words', payload: { tag: 'cc-s', words: ['x'], ms: 10_000 } },
        ],
        {
          mode: 'all-settled',
          signal: ac.signal,
        },
      );
      await until(() => ['cc-a', 'cc-b', 'cc-s'].every((t) => seen.has(t)), 3000, 'every branch running');
      ac.abort();
      const cancelledAt = Date.now();
      await assert.rejects(fan, (e: Error) => e.name === 'AbortError' && /parallel was cancelled/.test(e.message));
      await assertAbortedSoon(['cc-a', 'cc-b', 'cc-s'], cancelledAt, 'caller cancel');
    });

    it('cancelLosers: false leaves the losers running; settled says how they ended', async () => {
      const r = await caller.parallel([work('cl-fast', 1), work('cl-slow', 60)], { mode: 'first-success', cancelLosers: false });
      assert.deepEqual(statuses(r), { 'cl-fast': 'ok', 'cl-slow': 'running' });
      const settled = await r.settled;
      assert.deepEqual(
        settled.map((b) => b.status),
        ['ok', 'ok'],
      );
      assert.equal(aborted.has('cl-slow'), false);
    });

    it('inside a handler, every branch inherits the session, the trace and what is left of the deadline', async () => {
      const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
      const before = Date.now();
      const values = await caller.invoke(
        'par.nested',
        { tags: ['in-a', 'in-b'], ms: 1 },
        { session_id: 'sess-par', traceparent, timeout: 3000 },
      );
      assert.deepEqual(values, [{ tag: 'in-a' }, { tag: 'in-b' }]);
      for (const t of ['in-a', 'in-b']) {
        const s = seen.get(t)!;
        assert.equal(s.session, 'sess-par');
        assert.equal(s.trace, '4bf92f3577b34da6a3ce929d0e0e4736');
        assert.ok(s.deadline !== undefined && s.deadline <= before + 3000 + 5, `${t}: deadline ${s.deadline! - before} ms after the call`);
      }
    });

    it('a timeout on the whole fan-out times out what is still running', async () => {
      const r = await caller.parallel([work('to-a', 1), work('to-slow', 10_000)], { mode: 'all-settled', timeout: 100 });
      assert.deepEqual(statuses(r), { 'to-a': 'ok', 'to-slow': 'timed-out' });
      const err = await rejection(caller.parallel([work('to2-a', 1), work('to2-slow', 10_000)], { timeout: 100 }));
      assert.equal(err.code, 'AGENT_TIMEOUT');
    });

    it('stream branches: the value is the final result and the text deltas are joined', async () => {
      const r = await caller.parallel([
        { name: 'en', stream: 'par.words', payload: { tag: 'sb-en', words: ['Hello ', 'world'], ms: 1 } },
        { name: 'fr', stream: 'par.words', payload: { tag: 'sb-fr', words: ['Bonjour ', 'le ', 'monde'], ms: 1 } },
      ]);
      assert.deepEqual(r.values, [
        { tag: 'sb-en', count: 2 },
        { tag: 'sb-fr', count: 3 },
      ]);
      assert.deepEqual(
        r.branches.map((b) => [b.kind, b.text]),
        [
          ['stream', 'Hello world'],
          ['stream', 'Bonjour le monde'],
        ],
      );
    });

    it('parallelStream: the branches deltas interleaved, each tagged with its branch, between its start and its end', async () => {
      const words = (p: string, n: number) => Array.from({ length: n }, (_, i) => `${p}${i} `);
      const fan = caller.parallelStream([
        { name: 'left', stream: 'par.words', payload: { tag: 'ps-l', words: words('l', 6), ms: 8 } },
        { name: 'right', stream: 'par.words', payload: { tag: 'ps-r', words: words('r', 6), ms: 8 } },
        { name: 'calc', invoke: 'par.work', payload: { tag: 'ps-c', ms: 5 } },
      ]);
      const events: ParallelEvent[] = [];
      for await (const ev of fan) events.push(ev);
      const r = await fan.result();
      assert.deepEqual(statuses(r), { left: 'ok', right: 'ok', calc: 'ok' });
      for (const [name, prefix] of [
        ['left', 'l'],
        ['right', 'r'],
      ]) {
        const mine = events.filter((e) => e.branch === name);
        assert.equal(mine[0].type, 'start');
        assert.equal(mine.at(-1)!.type, 'end');
        const deltas = mine.filter((e) => e.type === 'delta').map((e) => (e as { delta: string }).delta);
        assert.deepEqual(deltas, words(prefix, 6), `${name}: its deltas, in order, tagged with it`);
      }
      const order = events.filter((e) => e.type === 'delta').map((e) => e.branch);
      const switches = order.filter((b, i) => i > 0 && b !== order[i - 1]).length;
      assert.ok(switches >= 2, `the branches interleave (${order.join(',')})`);
      const calc = events.filter((e) => e.branch === 'calc').map((e) => e.type);
      assert.deepEqual(calc, ['start', 'end']);
    });

    it('parallelStream: leaving the loop early cancels every branch', async () => {
      const fan = caller.parallelStream([
        { name: 'a', stream: 'par.words', payload: { tag: 'pe-a', words: ['a', 'b', 'c', 'd'], ms: 2000 } },
        { name: 'b', stream: 'par.words', payload: { tag: 'pe-b', words: ['1'], ms: 1 } },
      ]);
      for await (const ev of fan) if (ev.type === 'delta') break;
      const leftAt = Date.now();
      await assert.rejects(fan.result(), (e: Error) => e.name === 'AbortError');
      await assertAbortedSoon(['pe-a'], leftAt, 'parallelStream left');
    });

    it('bad options fail before anything is called', async () => {
      await assert.rejects(caller.parallel([]), /at least one branch/);
      await assert.rejects(caller.parallel([work('x', 1)], { mode: 'quorum', quorum: 2 }), /quorum must be an integer from 1 to 1/);
      await assert.rejects(caller.parallel([work('x', 1), work('x', 1)]), /two branches are named "x"/);
      await assert.rejects(caller.parallel([work('x', 1)], { mode: 'most' as never }), /unknown mode "most"/);
      assert.equal(seen.has('x'), false);
    });
  });
}
