// The tasks contract, on memory and on a real nats-server with JetStream: one suite, both stores.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import { BusError, TaskContext, type Envelope, type TaskRecord } from '@openagentio/nestjs';
import { TaskWorker } from '@openagentio/nestjs/internal/tasks/task-worker.js';
import { deferred, until } from '../support/bus-fixture.js';
import { TEST_ACK_WAIT_MS, taskEnvs, type TaskEnv } from './task-fixtures.js';

async function collect(it: AsyncIterable<Envelope>): Promise<Envelope[]> {
  const out: Envelope[] = [];
  for await (const f of it) out.push(f);
  return out;
}

for (const factory of taskEnvs) {
  describe(`tasks [${factory.name}]`, () => {
    let env: TaskEnv;
    let p: Awaited<ReturnType<TaskEnv['participant']>>;
    const workers: TaskWorker[] = [];
    const worker = async (target: string, handler: (input: any, ctx: TaskContext) => unknown, options = {}) => {
      const w = new TaskWorker(p.engine, p.bus, target, handler, options);
      await w.start();
      workers.push(w);
      return w;
    };

    before(async () => {
      env = await factory.start();
      p = await env.participant('client');
    });
    after(async () => {
      for (const w of workers) await w.stop();
      await env.close();
    });

    it('1. with no worker, submit returns submitted; a worker started later completes it; the frames go created → working → status → artifact → completed with increasing seq', async () => {
      const task = await p.tasks.submit('report.build', { quarter: 'Q3' }, { context_id: 'ctx-1', session_id: 's-1', tenant_id: 'acme' });
      assert.equal(task.state, 'submitted');
      assert.equal((await p.tasks.get(task.id))?.state, 'submitted');
      const follower = collect(p.tasks.follow(task.id));
      await worker('report.build', async (input: { quarter: string }, ctx) => {
        await ctx.status(`collecting ${input.quarter}`);
        await ctx.artifact({ artifact_id: 'md', name: 'report.md', data: '# Q3\n' });
        await ctx.artifact({ artifact_id: 'md', data: 'done\n', append: true, last_chunk: true });
        return { pages: 3, session: ctx.task.session_id };
      });
      const done = await p.tasks.wait(task.id, { timeout: 10_000 });
      assert.equal(done.state, 'completed');
      assert.deepEqual(done.result, { pages: 3, session: 's-1' });
      assert.equal(done.attempts, 1);
      assert.deepEqual(done.artifacts, [{ artifact_id: 'md', name: 'report.md', data: '# Q3\ndone\n', last_chunk: true }]);
      const frames = await follower;
      assert.deepEqual(
        frames.map((f) => f.event_type),
        [
          'agent.task.created',
          'agent.task.status',
          'agent.task.status',
          'agent.task.artifact',
          'agent.task.artifact',
          'agent.task.completed',
        ],
      );
      assert.deepEqual(
        frames.map((f) => f.seq),
        [0, 1, 2, 3, 4, 5],
      );
      for (const f of frames) {
        assert.equal(f.correlation_id, task.id);
        assert.equal(f.session_id, 's-1');
        assert.equal(f.conversation_id, 'ctx-1');
        assert.equal(f.tenant_id, 'acme');
      }
      assert.equal(frames.at(-1)!.is_final, true);
      assert.equal((await p.tasks.list({ context_id: 'ctx-1' })).tasks[0].id, task.id);
    });

    it('3. following from seq n yields exactly the frames after n and the terminal one', async () => {
      const task = await p.tasks.submit('report.build', { quarter: 'Q4' });
      const done = await p.tasks.wait(task.id, { timeout: 10_000 });
      const all = await collect(p.tasks.follow(task.id));
      assert.equal(all.length, done.seq + 1);
      for (let n = 0; n <= done.seq; n++) {
        const after = await collect(p.tasks.follow(task.id, { afterSeq: n }));
        assert.deepEqual(
          after.map((f) => f.seq),
          all.filter((f) => f.seq! > n).map((f) => f.seq),
        );
      }
    });

    it('4. cancel: a queued task never runs; a working one has its signal aborted; an ended one is a clear INVALID_REQUEST', async () => {
      let runs = 0;
      const aborted = deferred<unknown>();
      const started = deferred<void>();
      // Queued: nobody serves "cancel.queued" yet.
      const queued = await p.tasks.submit('cancel.queued', {});
      assert.equal((await p.tasks.cancel(queued.id)).state, 'canceled');
      await worker('cancel.queued', () => void runs++);
      await worker('cancel.working', (_i, ctx) => {
        started.resolve();
        return new Promise((_, reject) =>
          ctx.signal.addEventListener('abort', () => (aborted.resolve(ctx.signal.reason), reject(ctx.signal.reason))),
        );
      });
      const working = await p.tasks.submit('cancel.working', {});
      await started.promise;
      await p.tasks.cancel(working.id);
      await aborted.promise;
      const ended = await p.tasks.wait(working.id, { timeout: 10_000 });
      assert.equal(ended.state, 'canceled');
      await assert.rejects(p.tasks.cancel(working.id), (e: BusError) => e.code === 'INVALID_REQUEST' && /already canceled/.test(e.message));
      // The queued one was delivered to its worker after the cancel, and skipped.
      const probe = await p.tasks.submit('cancel.queued', {});
      await p.tasks.wait(probe.id, { timeout: 10_000 });
      assert.equal(runs, 1, 'only the probe ran');
      assert.equal((await p.tasks.get(queued.id))?.state, 'canceled');
    });

    it('5. input-required → send → completed, the new message in the history', async () => {
      await worker('ask.quarter', (input: { quarter?: string }, ctx) => {
        const quarter = input.quarter ?? (ctx.lastInput as string | undefined);
        if (!quarter) return ctx.inputRequired('Which quarter?');
        return `report for ${quarter}`;
      });
      const task = await p.tasks.submit('ask.quarter', {});
      const paused = await p.tasks.wait(task.id, { timeout: 10_000, orPause: true });
      assert.equal(paused.state, 'input-required');
      assert.equal(paused.status_message, 'Which quarter?');
      await assert.rejects(p.tasks.send((await p.tasks.submit('report.build', { quarter: 'Q1' })).id, 'x'), /not waiting for input/);
      await p.tasks.send(task.id, 'Q2');
      const done = await p.tasks.wait(task.id, { timeout: 10_000 });
      assert.equal(done.state, 'completed');
      assert.equal(done.result, 'report for Q2');
      assert.deepEqual(
        done.history.map((m) => [m.role, m.content]),
        [
          ['agent', 'Which quarter?'],
          ['user', 'Q2'],
        ],
      );
      const frames = await collect(p.tasks.follow(task.id));
      assert.ok(frames.some((f) => f.event_type === 'agent.task.message'));
    });

    it('6. 100 races of cancel against completion: the record and the log always agree on how the task ended', async () => {
      const release = new Map<string, () => void>();
      const started = new Map<string, () => void>();
      await worker(
        'race.job',
        (_i, ctx) =>
          new Promise((resolve) => {
            release.set(ctx.task.id, () => resolve('done'));
            started.get(ctx.task.id)?.();
          }),
        { concurrency: 10 },
      );
      const outcomes: string[] = [];
      await Promise.all(
        Array.from({ length: 100 }, async () => {
          const t = await p.tasks.submit('race.job', {});
          const running = new Promise<void>((r) => started.set(t.id, r));
          if (release.has(t.id)) started.get(t.id)!();
          await running;
          // Both at once: the worker finishing and a client cancelling.
          release.get(t.id)!();
          await p.tasks.cancel(t.id).catch((e: BusError) => assert.equal(e.code, 'INVALID_REQUEST'));
          const done = await p.tasks.wait(t.id, { timeout: 15_000 });
          const frames = await collect(p.tasks.follow(t.id));
          const terminal = frames.filter((f) => f.event_type === 'agent.task.completed');
          assert.equal(terminal.length, 1, `one terminal frame for ${t.id}`);
          assert.equal((terminal[0].payload as { state: string }).state, done.state);
          assert.ok(['completed', 'canceled'].includes(done.state));
          outcomes.push(done.state);
        }),
      );
      assert.equal(outcomes.length, 100);
    });

    it('2. a worker lost mid-task (on JetStream also a worker process killed with SIGKILL): another worker finishes it as attempt 2; the same task after a server restart', async () => {
      const first = deferred<void>();
      const lost = await worker('lost.job', () => {
        first.resolve();
        return new Promise(() => undefined); // never finishes: its process is about to go
      });
      const task = await p.tasks.submit('lost.job', { n: 1 });
      await first.promise;
      await lost.stop();
      const other = await env.participant('worker-2');
      const w2 = new TaskWorker(other.engine, other.bus, 'lost.job', (_i, ctx) => ({ attempt: ctx.attempt }));
      await w2.start();
      workers.push(w2);
      const done = await p.tasks.wait(task.id, { timeout: 15_000 });
      assert.equal(done.state, 'completed');
      assert.deepEqual(done.result, { attempt: 2 });
      assert.equal(done.attempts, 2);
      if (env.nats) {
        // A real worker process, killed with SIGKILL mid-task: no goodbye, no keep-alive; the run comes back.
        const child = spawn(
          process.execPath,
          [new URL('./fixtures/task-worker-process.js', import.meta.url).pathname, env.nats.url, String(TEST_ACK_WAIT_MS)],
          {
            stdio: ['ignore', 'pipe', 'inherit'],
          },
        );
        const lines = createInterface({ input: child.stdout! });
        const seen: string[] = [];
        const started = new Promise<string>((resolve) =>
          lines.on('line', (l) => {
            seen.push(l);
            if (l.startsWith('STARTED')) resolve(l);
          }),
        );
        await new Promise<void>((resolve) => lines.on('line', (l) => l === 'READY' && resolve()));
        const slow = await p.tasks.submit('slow.report', {});
        assert.equal((await started).split(' ')[1], slow.id);
        const killed = once(child, 'exit');
        child.kill('SIGKILL');
        await killed;
        const survivor = new TaskWorker(other.engine, other.bus, 'slow.report', (_i, ctx) => ({
          finishedBy: 'survivor',
          attempt: ctx.attempt,
        }));
        await survivor.start();
        workers.push(survivor);
        const finished = await p.tasks.wait(slow.id, { timeout: 20_000 });
        assert.deepEqual(finished.result, { finishedBy: 'survivor', attempt: 2 });
        assert.equal(finished.status_message, 'half way', 'what the lost run reported is kept');

        // The server restarted on the same store directory: the same task and history.
        const before: TaskRecord = done;
        await env.nats.restart();
        await until(() => p.bus.isConnected, 10_000, 'reconnected');
        // JetStream recovers its store after the server accepts clients: ask until it answers.
        let again: TaskRecord | undefined;
        for (let i = 0; i < 50 && !again; i++) again = await p.tasks.get(task.id).catch(() => undefined);
        assert.deepEqual(again, before);
        const frames = await collect(p.tasks.follow(task.id));
        assert.equal(frames.at(-1)?.event_type, 'agent.task.completed');
      }
    });

    it('2b. a worker that dies between storing a change and writing its frame: the run that takes over marks that frame lost, and the log keeps one frame per seq', async () => {
      const first = deferred<void>();
      const dying = await worker('gap.job', () => {
        first.resolve();
        return new Promise(() => undefined);
      });
      const task = await p.tasks.submit('gap.job', {});
      await first.promise;
      await dying.stop();
      // What a process killed between the two writes of a change leaves: the record's seq ahead of the log.
      const v = (await p.engine.store.get(task.id))!;
      assert.equal(v.record.state, 'working');
      v.record.seq += 1;
      v.record.status_message = 'written to the record only';
      assert.notEqual(await p.engine.store.update(v.record, v.revision), false);
      const lostSeq = v.record.seq;
      assert.equal(await p.engine.store.lastFrameSeq(task.id), lostSeq - 1, 'the log lacks the frame');

      const other = await env.participant('worker-gap');
      const w2 = new TaskWorker(other.engine, other.bus, 'gap.job', (_i, ctx) => ({ attempt: ctx.attempt }));
      await w2.start();
      workers.push(w2);
      const done = await p.tasks.wait(task.id, { timeout: 20_000 });
      assert.deepEqual(done.result, { attempt: 2 });
      const frames = await collect(p.tasks.follow(task.id));
      assert.deepEqual(
        frames.map((f) => f.seq),
        frames.map((_, i) => i),
        'every seq once, in order',
      );
      const lost = frames[lostSeq];
      assert.equal(lost.event_type, 'agent.task.status');
      assert.match((lost.payload as { message: string }).message, new RegExp(`frame ${lostSeq} was lost`));
      assert.equal((frames[lostSeq + 1].payload as { attempt?: number }).attempt, 2, 'then the new run');
    });
  });
}
