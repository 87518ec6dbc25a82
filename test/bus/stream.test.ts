import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Observable } from 'rxjs';
import { type BusClient, BusError, type Envelope, type HandlerContext, type StreamWriter } from '@openagentio/nestjs';
import { BusCluster, deferred, until } from '../support/bus-fixture.js';
import { transportFixtures } from '../support/transports.js';

type StreamCtx = HandlerContext & { writer: StreamWriter };

async function collect(iter: AsyncIterable<Envelope>): Promise<Envelope[]> {
  const out: Envelope[] = [];
  for await (const f of iter) out.push(f);
  return out;
}

function assertNoSeqHoles(frames: Envelope[]): void {
  frames.forEach((f, i) => assert.equal(f.seq ?? 0, i, `frame ${i} (${f.event_type}) has seq ${f.seq ?? 0}`));
  const terminal = frames.filter((f) => f.is_final);
  assert.equal(terminal.length, 1, 'exactly one terminal frame');
  assert.equal(frames[frames.length - 1].is_final, true, 'terminal frame is last');
}

for (const fixture of transportFixtures) {
  describe(`stream [${fixture.name}]`, () => {
    let cluster: BusCluster;
    let caller: BusClient;
    let server: BusClient;

    before(async () => {
      cluster = await BusCluster.start(fixture);
      caller = await cluster.bus('caller', { livenessInterval: 200 });
      server = await cluster.bus('server', { livenessInterval: 200 });
    });
    after(async () => {
      cluster.assertAllValid();
      await cluster.close();
    });

    it('an async generator: started, one delta per item, final with the return value, seq from 0', async () => {
      await server.handleStream('st.gen', async function* (p: { n: number }) {
        for (let i = 0; i < p.n; i++) yield `t${i} `;
        return 'all done';
      }).ready;
      const frames = await collect(caller.stream('st.gen', { n: 5 }, { session_id: 'sess-s' }));
      assert.deepEqual(
        frames.map((f) => f.event_type),
        ['agent.response.started', ...Array(5).fill('agent.response.delta'), 'agent.response.final'],
      );
      assertNoSeqHoles(frames);
      assert.deepEqual(frames[1].payload, { delta: 't0 ' });
      assert.deepEqual(frames[6].payload, { result: 'all done' });
      for (const f of frames) {
        assert.equal(f.session_id, 'sess-s');
        assert.equal(f.correlation_id, frames[0].correlation_id);
      }
    });

    it('the last value becomes the result when a generator returns nothing; objects become data deltas', async () => {
      await server.handleStream('st.last', async function* () {
        yield { data: { step: 1 } };
        yield 7;
      }).ready;
      const frames = await collect(caller.stream('st.last'));
      assert.deepEqual(frames[1].payload, { data: { step: 1 } });
      assert.deepEqual(frames[2].payload, { data: 7 });
      assert.deepEqual(frames[3].payload, { result: 7 });
    });

    it('a writer handler: deltas through ctx.writer, the resolved value is the result', async () => {
      await server.handleStream('st.writer', async (_p, ctx: StreamCtx) => {
        await ctx.writer.delta('a');
        await ctx.writer.data({ x: 1 });
        return { text: 'a' };
      }).ready;
      const s = caller.stream('st.writer');
      assert.deepEqual(await s.result(), { text: 'a' });
      assert.equal(s.final?.event_type, 'agent.response.final');
    });

    it('an Observable: each value a delta, the last the result', async () => {
      await server.handleStream(
        'st.obs',
        () =>
          new Observable<string>((o) => {
            o.next('x');
            o.next('y');
            o.complete();
          }),
      ).ready;
      const frames = await collect(caller.stream('st.obs'));
      assert.deepEqual(
        frames.map((f) => f.payload),
        [frames[0].payload, { delta: 'x' }, { delta: 'y' }, { result: 'y' }],
      );
    });

    it('a throw after deltas is one terminal error frame, with no hole in seq', async () => {
      await server.handleStream('st.throw', async function* () {
        yield 'one';
        yield 'two';
        throw new BusError('BACKPRESSURE_DROP', 'upstream busy');
      }).ready;
      const frames = await collect(caller.stream('st.throw', {}, { yieldErrors: true }));
      assertNoSeqHoles(frames);
      assert.equal(frames.at(-1)!.event_type, 'agent.response.error');
      assert.deepEqual(frames.at(-1)!.payload, { code: 'BACKPRESSURE_DROP', message: 'upstream busy', retryable: true });
      // Without yieldErrors the iterator throws the typed error after the deltas.
      const seen: string[] = [];
      await assert.rejects(
        async () => {
          for await (const f of caller.stream('st.throw')) seen.push(f.event_type);
        },
        (e: BusError) => e.code === 'BACKPRESSURE_DROP',
      );
      assert.deepEqual(seen, ['agent.response.started', 'agent.response.delta', 'agent.response.delta']);
    });

    it('a final result that cannot be encoded becomes an error frame with the same seq', async () => {
      await server.handleStream('st.badfinal', async function* () {
        yield 'ok';
        return { n: BigInt(2) };
      }).ready;
      const frames = await collect(caller.stream('st.badfinal', {}, { yieldErrors: true }));
      assertNoSeqHoles(frames);
      assert.equal(frames.at(-1)!.event_type, 'agent.response.error');
      assert.equal((frames.at(-1)!.payload as { code: string }).code, 'CODEC_FAILURE');
    });

    it('deferStarted: started carries what the handler learned first; a failure before it is a lone error frame', async () => {
      await server.handleStream(
        'st.deferred',
        async (p: { fail?: boolean }, ctx: StreamCtx) => {
          await new Promise((r) => setTimeout(r, 5));
          if (p.fail) throw new BusError('BACKPRESSURE_DROP', 'upstream said 429');
          await ctx.writer.started({ model: 'm-1' });
          await ctx.writer.delta('x');
          return 'ok';
        },
        { deferStarted: true },
      ).ready;
      const frames = await collect(caller.stream('st.deferred', {}));
      assertNoSeqHoles(frames);
      assert.deepEqual(frames[0].payload, { meta: { agent: 'server', target: 'st.deferred', model: 'm-1' } });
      const failed = await collect(caller.stream('st.deferred', { fail: true }, { yieldErrors: true }));
      assert.deepEqual(
        failed.map((f) => [f.event_type, f.seq ?? 0]),
        [['agent.response.error', 0]],
      );
    });

    it('an invoke of a stream target waits for the final result, however many deltas come first', async () => {
      assert.equal(await caller.invoke('st.gen', { n: 3 }), 'all done');
      // An invoke grants no flow-control credit: the producer must not stall after a window of frames.
      assert.equal(await caller.invoke('st.gen', { n: 300 }, { timeout: 5000 }), 'all done');
    });

    it('NO_HANDLER at once for a stream without a handler', async () => {
      await assert.rejects(collect(caller.stream('st.nobody', {}, { timeout: 10_000 })), (e: BusError) => e.code === 'NO_HANDLER');
    });

    it('breaking out of the loop cancels the remote handler', async () => {
      const aborted = deferred<void>();
      await server.handleStream('st.endless', async function* (_p: unknown, ctx: StreamCtx) {
        ctx.signal.addEventListener('abort', () => aborted.resolve());
        for (let i = 0; ; i++) {
          yield `tick ${i}`;
          await new Promise((r) => setTimeout(r, 1));
        }
      }).ready;
      let deltas = 0;
      for await (const f of caller.stream('st.endless')) {
        if (f.event_type === 'agent.response.delta' && ++deltas === 3) break;
      }
      await aborted.promise;
      assert.equal(deltas, 3);
    });

    it('aborting the signal cancels the stream before and after the first frame', async () => {
      const aborted = deferred<void>();
      const started = deferred<void>();
      await server.handleStream('st.abortable', async (_p, ctx: StreamCtx) => {
        started.resolve();
        await new Promise((_, reject) => ctx.signal.addEventListener('abort', () => (aborted.resolve(), reject(ctx.signal.reason))));
      }).ready;
      const ac = new AbortController();
      const s = caller.stream('st.abortable', {}, { signal: ac.signal });
      const frames: string[] = [];
      const consumed = (async () => {
        for await (const f of s) frames.push(f.event_type);
      })();
      await started.promise;
      ac.abort('stop');
      await assert.rejects(
        consumed,
        (e: BusError) => e.name === 'AbortError' && e.code === 'AGENT_UNAVAILABLE' && /cancelled/.test(e.message),
      );
      await aborted.promise;

      const pre = new AbortController();
      pre.abort('never mind');
      await assert.rejects(collect(caller.stream('st.abortable', {}, { signal: pre.signal })), {
        name: 'AbortError',
        message: /cancelled/,
      });
    });

    it('the stream deadline aborts the handler and ends the call with AGENT_TIMEOUT', async () => {
      const aborted = deferred<unknown>();
      await server.handleStream('st.slow', async function* (_p: unknown, ctx: StreamCtx) {
        yield 'first';
        await new Promise((_, reject) =>
          ctx.signal.addEventListener('abort', () => (aborted.resolve(ctx.signal.reason), reject(ctx.signal.reason))),
        );
      }).ready;
      await assert.rejects(collect(caller.stream('st.slow', {}, { timeout: 150 })), (e: BusError) => e.code === 'AGENT_TIMEOUT');
      await aborted.promise;
    });

    it('flow control: a slow consumer holds the producer within the window, and no frame is lost', async () => {
      const window = 8;
      let produced = 0;
      await server.handleStream('st.flood', async (_p, ctx: StreamCtx) => {
        for (let i = 0; i < 200; i++) {
          await ctx.writer.delta(String(i));
          produced++;
        }
        return produced;
      }).ready;
      const s = caller.stream('st.flood', {}, { window });
      const it = s[Symbol.asyncIterator]();
      const first = await it.next();
      assert.equal(first.value?.event_type, 'agent.response.started');
      // The consumer now stops reading: the producer must stall within one window.
      await new Promise((r) => setTimeout(r, 150));
      assert.ok(produced <= window, `producer ran ${produced} frames ahead with a window of ${window}`);
      const seen: string[] = [];
      for (;;) {
        const r = await it.next();
        if (r.done) break;
        if (r.value.event_type === 'agent.response.delta') seen.push((r.value.payload as { delta: string }).delta);
      }
      assert.equal(seen.length, 200);
      assert.deepEqual(
        seen,
        Array.from({ length: 200 }, (_, i) => String(i)),
      );
      assert.equal(produced, 200);
    });

    it('flow control: deltas written without awaiting each one wait for credit in call order, none lost', async () => {
      await server.handleStream('st.burst', async (_p, ctx: StreamCtx) => {
        // Forty writes at once against a window of four: most of them have to wait for credit together.
        await Promise.all(Array.from({ length: 40 }, (_, i) => ctx.writer.delta(String(i))));
        return 'done';
      }).ready;
      const frames = await collect(caller.stream('st.burst', {}, { window: 4, timeout: 10_000 }));
      assertNoSeqHoles(frames);
      const deltas = frames.filter((f) => f.event_type === 'agent.response.delta').map((f) => (f.payload as { delta: string }).delta);
      assert.deepEqual(
        deltas,
        Array.from({ length: 40 }, (_, i) => String(i)),
      );
      assert.deepEqual(frames[frames.length - 1].payload, { result: 'done' });
    });
    it('a caller that vanishes is noticed by the responder (liveness), which aborts the handler', async () => {
      const ghost = await cluster.bus('ghost', { livenessInterval: 200 });
      const aborted = deferred<unknown>();
      const started = deferred<void>();
      await server.handleStream('st.orphan', async (_p, ctx: StreamCtx) => {
        started.resolve();
        await new Promise((_, reject) =>
          ctx.signal.addEventListener('abort', () => (aborted.resolve(ctx.signal.reason), reject(ctx.signal.reason))),
        );
      }).ready;
      const s = ghost.stream('st.orphan', {}, { timeout: 60_000 });
      const consuming = collect(s).catch(() => undefined);
      await started.promise;
      // The process "dies": its connection goes away without a cancel message.
      (ghost as unknown as { router: { streams: Map<string, unknown> } }).router.streams.clear();
      await ghost.transport.close();
      const reason = (await aborted.promise) as BusError;
      assert.equal(reason.code, 'AGENT_UNAVAILABLE');
      assert.match(reason.message, /caller/);
      s.cancel('test over');
      await consuming;
    });

    it('a responder that vanishes is noticed by the caller (liveness): the stream ends with a retryable AGENT_UNAVAILABLE, not at its deadline', async () => {
      const phantom = await cluster.bus('phantom', { livenessInterval: 200 });
      const started = deferred<void>();
      await phantom.handleStream('st.vanish', async (_p, ctx: StreamCtx) => {
        await ctx.writer.delta('first');
        started.resolve();
        await new Promise((resolve) => ctx.signal.addEventListener('abort', resolve));
      }).ready;
      const s = caller.stream('st.vanish', {}, { timeout: 60_000 });
      const frames: Envelope[] = [];
      const t0 = Date.now();
      const outcome = (async () => {
        for await (const f of s) frames.push(f);
      })().then(
        () => assert.fail('the stream must not end normally'),
        (err: unknown) => err,
      );
      await started.promise;
      // The responder's process "dies": no more frames, no more probes, no goodbye.
      (phantom as unknown as { responder: { inflight: Map<string, unknown> } }).responder.inflight.clear();
      await phantom.transport.close();
      const err = (await outcome) as BusError;
      assert.ok(err instanceof BusError, String(err));
      assert.equal(err.code, 'AGENT_UNAVAILABLE');
      assert.equal(err.retryable, true);
      assert.match(err.message, /st\.vanish.*responder went silent/);
      assert.ok(Date.now() - t0 < 5000, `noticed after ${Date.now() - t0} ms, not at the 60 s deadline`);
      assert.deepEqual(
        frames.map((f) => f.event_type),
        ['agent.response.started', 'agent.response.delta'],
      );
      await phantom.close();
    });

    it('a responder that is slow but alive keeps its stream: its probes count as signs of life', async () => {
      await server.handleStream('st.pause', async (_p, ctx: StreamCtx) => {
        await ctx.writer.delta('before');
        await new Promise((r) => setTimeout(r, 1300)); // over 3 probe intervals (3 × 200 ms) without a frame
        await ctx.writer.delta('after');
        return 'done';
      }).ready;
      const frames = await collect(caller.stream('st.pause', {}, { timeout: 10_000 }));
      assert.deepEqual(
        frames.map((f) => f.event_type),
        ['agent.response.started', 'agent.response.delta', 'agent.response.delta', 'agent.response.final'],
      );
      assert.equal(frames[0].metadata?.['acp.liveness'], 200, 'the started frame says how often the responder probes');
    });

    it('a caller whose own process stalls does not take the responder for gone', async () => {
      await server.handleStream('st.stall', async (_p, ctx: StreamCtx) => {
        await ctx.writer.delta('before');
        await new Promise((r) => setTimeout(r, 300));
        return 'done';
      }).ready;
      const frames: Envelope[] = [];
      for await (const f of caller.stream('st.stall', {}, { timeout: 10_000 })) {
        frames.push(f);
        if (f.event_type === 'agent.response.delta') {
          // Block this process (caller and responder alike) for over 3 probe intervals (3 × 200 ms).
          const until = Date.now() + 900;
          while (Date.now() < until) {
            // busy
          }
        }
      }
      assert.deepEqual(
        frames.map((f) => f.event_type),
        ['agent.response.started', 'agent.response.delta', 'agent.response.final'],
      );
    });

    it('the reorder buffer restores order of frames sent out of order (upstream peer)', async () => {
      // A raw responder written in the upstream shape: no started frame, seq from 0, frames published out of order.
      const { createReply } = await import('@openagentio/nestjs');
      const sub = server.transport.subscribe(
        server.subjects.invoke('st.upstream'),
        (msg) => {
          const req = msg.envelope!;
          const to = req.reply_to!;
          const mk = (seq: number, type: string, payload: unknown, fin = false) =>
            createReply(req, type, payload, { from: 'py', seq, isFinal: fin });
          const frames = [
            mk(1, 'agent.response.delta', { delta: 'b' }),
            mk(0, 'agent.response.delta', { delta: 'a' }),
            mk(0, 'agent.response.delta', { delta: 'a' }),
            mk(3, 'agent.response.final', { result: 'abc' }, true),
            mk(2, 'agent.response.delta', { delta: 'c' }),
          ];
          for (const f of frames) server.transport.publish(to, f);
        },
        { queue: 'st.upstream' },
      );
      await server.transport.flush();
      const frames = await collect(caller.stream('st.upstream'));
      assert.deepEqual(
        frames.map((f) => f.seq ?? 0),
        [0, 1, 2, 3],
      );
      assert.equal(frames.map((f) => (f.payload as { delta?: string }).delta ?? '').join(''), 'abc');
      sub.unsubscribe();
    });

    it('text() concatenates deltas; two concurrent streams do not mix', async () => {
      const [a, b] = await Promise.all([caller.stream('st.gen', { n: 3 }).text(), caller.stream('st.gen', { n: 2 }).text()]);
      assert.equal(a, 't0 t1 t2 ');
      assert.equal(b, 't0 t1 ');
      await until(() => true);
    });
  });
}
