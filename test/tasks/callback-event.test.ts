// Task callbacks on the bus (issue #28 item 5): a task submitted with `callback` is announced as an
// `agent.task.completed` event when it completes, fails or is cancelled, carrying its end and its session and trace;
// a task without one is not. Webhook deliveries are queued for the gateways (test/gateway/a2a-push*.test.ts).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { BusError, type Envelope, ErrorCodes, type TaskContext } from '@openagentio/nestjs';
import { TaskWorker } from '@openagentio/nestjs/internal/tasks/task-worker.js';
import { publishTaskEnd, TASK_CALLBACK_QUEUE } from '@openagentio/nestjs/internal/tasks/task-callback.js';
import { deferred } from '../support/bus-fixture.js';
import { taskEnvs, type TaskEnv } from './task-fixtures.js';

const TRACEPARENT = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';

for (const factory of taskEnvs) {
  describe(`task callbacks as events (${factory.name})`, () => {
    let env: TaskEnv;
    let p: Awaited<ReturnType<TaskEnv['participant']>>;
    const workers: TaskWorker[] = [];
    /** Every agent.task.completed event seen, by task id. */
    const events = new Map<string, Envelope>();
    const waiters = new Map<string, (e: Envelope) => void>();
    const release = deferred<void>();
    const holding = deferred<void>();

    function eventOf(taskId: string, ms = 10_000): Promise<Envelope> {
      const seen = events.get(taskId);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`no agent.task.completed event for ${taskId} within ${ms} ms`)), ms);
        waiters.set(taskId, (e) => {
          clearTimeout(t);
          resolve(e);
        });
      });
    }

    before(async () => {
      env = await factory.start();
      p = await env.participant('callbacks');
      const listener = await env.participant('listener');
      const sub = listener.bus.subscribe('agent.task.completed', (_payload, e) => {
        events.set(e.correlation_id!, e);
        waiters.get(e.correlation_id!)?.(e);
      });
      await sub.ready;
      const add = (target: string, handler: (input: unknown, ctx: TaskContext) => unknown) => {
        const w = new TaskWorker(p.engine, p.bus, target, handler, { maxAttempts: 1 });
        workers.push(w);
        return w.start();
      };
      await add('cb.ok', (input) => ({ echoed: input }));
      await add('cb.fail', () => {
        throw new BusError(ErrorCodes.INVALID_REQUEST, 'no such quarter', { retryable: false });
      });
      await add('cb.hold', async (_input, ctx) => {
        holding.resolve();
        await Promise.race([release.promise, new Promise((r) => ctx.signal.addEventListener('abort', r))]);
        ctx.signal.throwIfAborted();
        return 'late';
      });
    });

    after(async () => {
      release.resolve();
      for (const w of workers) await w.stop();
      await env.close();
    });

    it('announces a completed task with its result, session, tenant and trace', async () => {
      const task = await p.tasks.submit(
        'cb.ok',
        { q: 'Q3' },
        { callback: true, session_id: 's-1', context_id: 'c-1', tenant_id: 'acme', user_id: 'ann', traceparent: TRACEPARENT },
      );
      const e = await eventOf(task.id);
      assert.equal(e.event_type, 'agent.task.completed');
      assert.equal(e.correlation_id, task.id);
      assert.deepEqual(e.payload, { task_id: task.id, state: 'completed', result: { echoed: { q: 'Q3' } } });
      assert.equal(e.session_id, 's-1');
      assert.equal(e.conversation_id, 'c-1');
      assert.equal(e.tenant_id, 'acme');
      assert.equal(e.user_id, 'ann');
      assert.equal(e.trace_id, '0af7651916cd43dd8448eb211c80319c');
      assert.equal(e.traceparent?.split('-')[1], '0af7651916cd43dd8448eb211c80319c');
    });

    it('announces a failed task with its error', async () => {
      const task = await p.tasks.submit('cb.fail', null, { callback: {} });
      const e = await eventOf(task.id);
      const payload = e.payload as { state: string; error: { code: string; message: string } };
      assert.equal(payload.state, 'failed');
      assert.equal(payload.error.code, 'INVALID_REQUEST');
      assert.equal(payload.error.message, 'no such quarter');
    });

    it('announces a cancelled task, queued or running', async () => {
      const queued = await p.tasks.submit('cb.nobody', null, { callback: true });
      await p.tasks.cancel(queued.id);
      assert.equal(((await eventOf(queued.id)).payload as { state: string }).state, 'canceled');

      const running = await p.tasks.submit('cb.hold', null, { callback: true });
      await holding.promise;
      assert.equal((await p.tasks.get(running.id))?.state, 'working');
      await p.tasks.cancel(running.id);
      assert.equal(((await eventOf(running.id)).payload as { state: string }).state, 'canceled');
      assert.equal((await p.tasks.get(running.id))?.state, 'canceled');
    });

    it('does not announce a task submitted without a callback', async () => {
      const quiet = await p.tasks.submit('cb.ok', 'no callback');
      const loud = await p.tasks.submit('cb.ok', 'with callback', { callback: true });
      await p.tasks.wait(quiet.id, { timeout: 10_000 });
      // Events of one publisher arrive in order: the later task's event means the earlier one's would have come.
      await eventOf(loud.id);
      assert.equal((await p.tasks.get(quiet.id))?.state, 'completed');
      assert.equal(events.has(quiet.id), false);
    });

    it('is a durable event: a durable subscriber that was away when the task ended gets it when back, once', async () => {
      const late = await env.participant('late-listener');
      const got: string[] = [];
      const handler = (_payload: unknown, e: Envelope) => void got.push(e.correlation_id!);
      // The consumer exists (its position is kept by the log), then its agent goes away.
      const first = late.bus.subscribe('agent.task.completed', handler, { durable: 'cb-late' });
      await first.ready;
      first.unsubscribe();
      const missed = await p.tasks.submit('cb.ok', 'while away', { callback: true });
      await eventOf(missed.id);
      assert.equal(got.length, 0, 'nothing while away');
      const back = late.bus.subscribe('agent.task.completed', handler, { durable: 'cb-late' });
      await back.ready;
      const marker = await p.tasks.submit('cb.ok', 'after', { callback: true });
      const end = Date.now() + 10_000;
      while (!got.includes(marker.id)) {
        assert.ok(Date.now() < end, `the durable subscriber got ${JSON.stringify(got)}`);
        await new Promise((r) => setTimeout(r, 20));
      }
      assert.deepEqual(got, [missed.id, marker.id]);
      // Announced again (a retry of whoever ended it): the log keeps it once, by its event_id made from the task id.
      const again = (await p.tasks.get(missed.id))!;
      await publishTaskEnd(p.bus, again, true);
      const closing = await p.tasks.submit('cb.ok', 'closing', { callback: true });
      const until2 = Date.now() + 10_000;
      while (!got.includes(closing.id)) {
        assert.ok(Date.now() < until2, `the durable subscriber got ${JSON.stringify(got)}`);
        await new Promise((r) => setTimeout(r, 20));
      }
      back.unsubscribe();
      assert.deepEqual(got, [missed.id, marker.id, closing.id], 'the repeated announcement was not stored again');
    });

    it('queues one webhook delivery for an ended task with webhooks, none without', async () => {
      const taken: string[] = [];
      const got = deferred<void>();
      const consumer = await p.tasks.consumeCallbacks(2, async (d) => {
        taken.push(d.taskId);
        await d.ack();
        got.resolve();
      });
      try {
        const plain = await p.tasks.submit('cb.ok', 1, { callback: true });
        const hooked = await p.tasks.submit('cb.ok', 2, { callback: { webhooks: [{ id: 'w1', url: 'http://127.0.0.1:9/x' }] } });
        await eventOf(hooked.id);
        await eventOf(plain.id);
        await got.promise;
        assert.deepEqual(taken, [hooked.id]);
        assert.equal((await p.tasks.webhooks(hooked.id))[0].url, 'http://127.0.0.1:9/x');
      } finally {
        await consumer.stop();
      }
    });

    it('refuses a webhook that is not an http(s) URL, before anything is stored', async () => {
      await assert.rejects(
        p.tasks.submit('cb.ok', 1, { callback: { webhooks: [{ url: 'file:///etc/passwd' }] } }),
        (err: BusError) => err.code === ErrorCodes.INVALID_REQUEST && /http or https/.test(err.message),
      );
      assert.equal(TASK_CALLBACK_QUEUE, '_callbacks');
    });
  });
}
