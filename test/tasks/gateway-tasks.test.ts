// The gateway's task routes (docs/tasks.md, "Gateway and A2A"): submit, get, list, cancel, send input and resumable SSE of a
// task's frames, with tenant isolation and ErrorPayload errors; on the memory store and on JetStream.
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  BusClient,
  MemoryBroker,
  MemoryTransport,
  TaskClient,
  type Envelope,
  type TaskContext,
  type TaskRecord,
} from '@openagentio/nestjs';
import { TaskWorker } from '@openagentio/nestjs/internal/tasks/task-worker.js';
import { gatewayApp } from '../gateway/gateway-app.js';
import { openSse } from '../gateway/sse-client.js';
import { quietLogger } from '../mcp/helpers.js';
import { deferred } from '../support/bus-fixture.js';
import { ACME, AUTH, GLOBEX, http, taskGateway, type TaskGateway } from './gateway-task-app.js';
import { jetstreamTasks, type TaskEnv } from './task-fixtures.js';

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

async function waitState(url: string, id: string, state: string, token = ACME): Promise<TaskRecord> {
  let last: TaskRecord | undefined;
  const end = Date.now() + 10_000;
  while (Date.now() < end) {
    last = (await http(`${url}/v1/tasks/${id}`, { token })).body as TaskRecord;
    if (last.state === state) return last;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`task ${id} is ${last?.state}, not ${state}`);
}

/** The SSE blocks of a whole (ended) response body, as raw field lists. */
function blocks(text: string): string[][] {
  return text
    .split('\n\n')
    .filter((b) => b.length > 0)
    .map((b) => b.split('\n'));
}

describe('gateway task routes [memory store]', () => {
  let gw: TaskGateway;

  before(async () => {
    gw = await taskGateway();
  });
  after(async () => {
    await gw?.close();
  });

  it('POST /v1/agents/{target}/tasks → 202 with the record: the identity sets tenant and user, X-Session-Id and X-Conversation-Id the session and context', async () => {
    const res = await http(`${gw.url}/v1/agents/report.build/tasks`, {
      token: ACME,
      body: { quarter: 'Q3' },
      headers: { 'x-session-id': 's-1', 'x-conversation-id': 'ctx-1', 'x-tenant-id': 'globex', 'x-user-id': 'mallory' },
    });
    assert.equal(res.status, 202);
    const task = res.body as TaskRecord;
    assert.equal(task.state, 'submitted');
    assert.equal(task.target, 'report.build');
    assert.deepEqual(task.input, { quarter: 'Q3' });
    assert.equal(task.tenant_id, 'acme', 'X-Tenant-Id is ignored when authenticated');
    assert.equal(task.user_id, 'ann');
    assert.equal(task.session_id, 's-1');
    assert.equal(task.context_id, 'ctx-1');
    assert.equal(res.headers.get('location'), `/v1/tasks/${task.id}`);
    const done = await waitState(gw.url, task.id, 'completed');
    assert.deepEqual(done.result, { quarter: 'Q3', pages: 3, session: 's-1', tenant: 'acme' });
    assert.equal((await http(`${gw.url}/v1/tasks/${task.id}`, { token: ACME })).status, 200);
  });

  it('GET /v1/tasks/{id}/events follows to completed: a comment first, then one block per frame with event, id = seq and data = the envelope, ending after the terminal frame', async () => {
    const task = (await http(`${gw.url}/v1/agents/report.build/tasks`, { token: ACME, body: { quarter: 'Q4' } })).body as TaskRecord;
    const res = await fetch(`${gw.url}/v1/tasks/${task.id}/events`, { headers: bearer(ACME) });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /text\/event-stream/);
    const text = await res.text(); // ends by itself after the terminal frame
    const [first, ...frames] = blocks(text);
    assert.deepEqual(first, [': open'], 'the stream opens with a comment, not a block without data');
    const envelopes: Envelope[] = [];
    for (const [i, b] of frames.entries()) {
      const fields = b.filter((l) => !l.startsWith(':'));
      if (fields.length === 0) continue; // a heartbeat comment
      assert.match(fields[0], /^event: agent\.task\./);
      assert.equal(fields[1], `id: ${i}`);
      if (i === 0) assert.equal(fields[2], 'retry: 1000', 'retry rides on the first frame, in upstream order');
      const data = fields.at(-1)!;
      assert.ok(data.startsWith('data: '), 'every block carries data');
      const env = JSON.parse(data.slice(6)) as Envelope;
      assert.equal(fields[0], `event: ${env.event_type}`);
      assert.equal(env.seq, i);
      assert.equal(env.correlation_id, task.id);
      assert.equal(env.tenant_id, 'acme');
      envelopes.push(env);
    }
    assert.deepEqual(
      envelopes.map((e) => e.event_type),
      [
        'agent.task.created',
        'agent.task.status',
        'agent.task.status',
        'agent.task.artifact',
        'agent.task.artifact',
        'agent.task.completed',
      ],
    );
    assert.equal(envelopes.at(-1)!.is_final, true);
  });

  it('reconnecting with Last-Event-ID = n (header or ?last_event_id=) gets exactly the frames after n; after the terminal frame it is 204', async () => {
    const task = (await http(`${gw.url}/v1/agents/report.build/tasks`, { token: ACME, body: { quarter: 'Q1' } })).body as TaskRecord;
    const done = await waitState(gw.url, task.id, 'completed');
    for (let n = 0; n < done.seq; n++) {
      const viaQuery = n % 2 === 1;
      const sse = await openSse(`${gw.url}/v1/tasks/${task.id}/events${viaQuery ? `?last_event_id=${n}` : ''}`, {
        headers: { ...bearer(ACME), ...(viaQuery ? {} : { 'last-event-id': String(n) }) },
      });
      await sse.waitEnd();
      assert.deepEqual(
        sse.events.map((e) => Number(e.id)),
        Array.from({ length: done.seq - n }, (_, i) => n + 1 + i),
        `after ${n}`,
      );
    }
    const ended = await fetch(`${gw.url}/v1/tasks/${task.id}/events`, { headers: { ...bearer(ACME), 'last-event-id': String(done.seq) } });
    assert.equal(ended.status, 204, 'nothing after the terminal frame: an EventSource stops reconnecting');
  });

  it('a follower that drops mid-task and reconnects with its last id misses nothing and gets nothing twice', async () => {
    const task = (await http(`${gw.url}/v1/agents/report.build/tasks`, { token: ACME, body: { quarter: 'Q2', gate: 'live' } }))
      .body as TaskRecord;
    const first = await openSse(`${gw.url}/v1/tasks/${task.id}/events`, { headers: bearer(ACME) });
    await first.waitEvents(4); // created, working, collecting, the first chunk: the handler waits at its gate
    first.close();
    const lastId = first.events.at(-1)!.id!;
    assert.equal(lastId, '3');
    gw.agent.gate('live').resolve();
    const second = await openSse(`${gw.url}/v1/tasks/${task.id}/events`, { headers: { ...bearer(ACME), 'last-event-id': lastId } });
    await second.waitEnd();
    const all = [...first.events.slice(0, 4), ...second.events];
    assert.deepEqual(
      all.map((e) => Number(e.id)),
      [0, 1, 2, 3, 4, 5],
    );
    assert.equal(all.at(-1)!.event, 'agent.task.completed');
  });

  it('DELETE /v1/tasks/{id}: a working task has its handler aborted and ends canceled; a waiting one is canceled at once; an ended one is 400 INVALID_REQUEST', async () => {
    const task = (await http(`${gw.url}/v1/agents/slow.job/tasks`, { token: ACME, body: { key: 'c1' } })).body as TaskRecord;
    await gw.agent.started('c1');
    const res = await http(`${gw.url}/v1/tasks/${task.id}`, { method: 'DELETE', token: ACME });
    assert.equal(res.status, 200);
    assert.equal(res.body.id, task.id);
    assert.ok(res.body.state === 'canceled' || res.body.cancel_requested === true);
    const canceled = await waitState(gw.url, task.id, 'canceled');
    assert.ok(gw.agent.aborted.includes(task.id), "the handler's signal fired");
    const sse = await openSse(`${gw.url}/v1/tasks/${task.id}/events`, { headers: bearer(ACME) });
    await sse.waitEnd();
    assert.equal(JSON.parse(sse.events.at(-1)!.data).payload.state, 'canceled');
    assert.equal(canceled.seq, Number(sse.events.at(-1)!.id));

    const again = await http(`${gw.url}/v1/tasks/${task.id}`, { method: 'DELETE', token: ACME });
    assert.equal(again.status, 400);
    assert.equal(again.body.code, 'INVALID_REQUEST');
    assert.match(again.body.message, /already canceled/);
    assert.equal(again.body.retryable, false);

    const waiting = (await http(`${gw.url}/v1/agents/ask.quarter/tasks`, { token: ACME, body: {} })).body as TaskRecord;
    await waitState(gw.url, waiting.id, 'input-required');
    const cancelled = await http(`${gw.url}/v1/tasks/${waiting.id}`, { method: 'DELETE', token: ACME });
    assert.equal(cancelled.status, 200);
    assert.equal(cancelled.body.state, 'canceled');
  });

  it('POST /v1/tasks/{id}/messages gives an input-required task its input (202), and it completes; a task that is not waiting is 400', async () => {
    const task = (await http(`${gw.url}/v1/agents/ask.quarter/tasks`, { token: ACME, body: {} })).body as TaskRecord;
    const paused = await waitState(gw.url, task.id, 'input-required');
    assert.equal(paused.status_message, 'Which quarter?');
    const sent = await http(`${gw.url}/v1/tasks/${task.id}/messages`, { token: ACME, body: { quarter: 'Q2' } });
    assert.equal(sent.status, 202);
    assert.equal(sent.body.state, 'submitted');
    const done = await waitState(gw.url, task.id, 'completed');
    assert.equal(done.result, 'report for Q2');
    assert.deepEqual(
      done.history.map((m) => [m.role, m.content]),
      [
        ['agent', 'Which quarter?'],
        ['user', { quarter: 'Q2' }],
      ],
    );
    const notWaiting = await http(`${gw.url}/v1/tasks/${task.id}/messages`, { token: ACME, body: { quarter: 'Q3' } });
    assert.equal(notWaiting.status, 400);
    assert.equal(notWaiting.body.code, 'INVALID_REQUEST');
    assert.match(notWaiting.body.message, /not waiting for input/);
    const empty = await http(`${gw.url}/v1/tasks/${task.id}/messages`, { method: 'POST', token: ACME });
    assert.equal(empty.status, 400);
  });

  it('tenant isolation: another tenant gets 404 for get, events, cancel and messages, exactly as for a task that does not exist, and lists only its own', async () => {
    const mine = (
      await http(`${gw.url}/v1/agents/ask.quarter/tasks`, { token: ACME, body: {}, headers: { 'x-conversation-id': 'ctx-iso' } })
    ).body as TaskRecord;
    await waitState(gw.url, mine.id, 'input-required');
    const theirs = (
      await http(`${gw.url}/v1/agents/report.build/tasks`, {
        token: GLOBEX,
        body: { quarter: 'Q9' },
        headers: { 'x-conversation-id': 'ctx-iso' },
      })
    ).body as TaskRecord;
    assert.equal(theirs.tenant_id, 'globex');
    const missing = '0190a6f0-0000-7000-8000-000000000000';
    for (const [method, suffix, body] of [
      ['GET', '', undefined],
      ['GET', '/events', undefined],
      ['DELETE', '', undefined],
      ['POST', '/messages', { quarter: 'Q1' }],
    ] as const) {
      const other = await http(`${gw.url}/v1/tasks/${mine.id}${suffix}`, {
        method,
        token: GLOBEX,
        body,
        headers: { 'x-tenant-id': 'acme' },
      });
      const none = await http(`${gw.url}/v1/tasks/${missing}${suffix}`, { method, token: GLOBEX, body });
      assert.equal(other.status, 404, `${method} ${suffix}`);
      assert.equal(other.body.code, 'NO_HANDLER');
      assert.equal(other.body.message, `no task "${mine.id}"`);
      assert.equal(none.body.message, `no task "${missing}"`, 'the same answer as for a task that does not exist');
    }
    assert.equal((await http(`${gw.url}/v1/tasks/${mine.id}`, { token: ACME })).body.state, 'input-required', 'untouched');
    const acmeList = (await http(`${gw.url}/v1/tasks?context=ctx-iso`, { token: ACME })).body as { tasks: TaskRecord[] };
    const globexList = (await http(`${gw.url}/v1/tasks?context=ctx-iso`, { token: GLOBEX })).body as { tasks: TaskRecord[] };
    assert.deepEqual(
      acmeList.tasks.map((t) => t.id),
      [mine.id],
    );
    assert.deepEqual(
      globexList.tasks.map((t) => t.id),
      [theirs.id],
    );
    const all = (await http(`${gw.url}/v1/tasks?limit=100`, { token: GLOBEX })).body as { tasks: TaskRecord[] };
    assert.ok(all.tasks.length > 0 && all.tasks.every((t) => t.tenant_id === 'globex'));
  });

  it('GET /v1/tasks filters by context and state and pages with limit and cursor, newest first', async () => {
    const ids: string[] = [];
    for (const q of ['Q1', 'Q2', 'Q3']) {
      const t = (
        await http(`${gw.url}/v1/agents/report.build/tasks`, {
          token: ACME,
          body: { quarter: q },
          headers: { 'x-conversation-id': 'ctx-page' },
        })
      ).body as TaskRecord;
      ids.push(t.id);
      await waitState(gw.url, t.id, 'completed');
    }
    const p1 = (await http(`${gw.url}/v1/tasks?context=ctx-page&state=completed&limit=2`, { token: ACME })).body;
    assert.deepEqual(
      p1.tasks.map((t: TaskRecord) => t.id),
      [ids[2], ids[1]],
    );
    assert.ok(p1.next_cursor);
    const p2 = (await http(`${gw.url}/v1/tasks?context=ctx-page&state=completed&limit=2&cursor=${p1.next_cursor}`, { token: ACME })).body;
    assert.deepEqual(
      p2.tasks.map((t: TaskRecord) => t.id),
      [ids[0]],
    );
    assert.equal(p2.next_cursor, undefined);
    assert.deepEqual((await http(`${gw.url}/v1/tasks?context=ctx-page&state=working`, { token: ACME })).body, { tasks: [] });
  });

  it('bad input answers ErrorPayloads: unknown or unexposed target 404, malformed target 400, bad JSON 400, bad query or Last-Event-ID 400, no token 401', async () => {
    const expectError = async (res: Awaited<ReturnType<typeof http>>, status: number, code: string, message?: RegExp) => {
      assert.equal(res.status, status, JSON.stringify(res.body));
      assert.equal(res.body.code, code);
      assert.equal(typeof res.body.message, 'string');
      assert.equal(res.body.retryable, false);
      if (message) assert.match(res.body.message, message);
    };
    await expectError(
      await http(`${gw.url}/v1/agents/billing.charge/tasks`, { token: ACME, body: {} }),
      404,
      'NO_HANDLER',
      /task target "billing\.charge" is not exposed/,
    );
    await expectError(await http(`${gw.url}/v1/agents/report..x/tasks`, { token: ACME, body: {} }), 400, 'INVALID_REQUEST');
    await expectError(
      await http(`${gw.url}/v1/agents/report.build/tasks`, { token: ACME, body: '{"quarter":' }),
      400,
      'INVALID_REQUEST',
      /JSON/,
    );
    await expectError(await http(`${gw.url}/v1/tasks?state=done`, { token: ACME }), 400, 'INVALID_REQUEST', /state must be one of/);
    await expectError(await http(`${gw.url}/v1/tasks?limit=0`, { token: ACME }), 400, 'INVALID_REQUEST', /limit/);
    const t = (await http(`${gw.url}/v1/agents/report.build/tasks`, { token: ACME, body: {} })).body as TaskRecord;
    await expectError(
      await http(`${gw.url}/v1/tasks/${t.id}/events`, { token: ACME, headers: { 'last-event-id': 'abc' } }),
      400,
      'INVALID_REQUEST',
      /Last-Event-ID/,
    );
    await expectError(await http(`${gw.url}/v1/tasks/not.a.task`, { token: ACME }), 404, 'NO_HANDLER');
    await expectError(await http(`${gw.url}/v1/agents/report.build/tasks`, { body: {} }), 401, 'AUTH_FAILURE');
    await expectError(await http(`${gw.url}/v1/tasks`, { token: 'wrong' }), 401, 'AUTH_FAILURE');
  });
});

describe('gateway task routes without TasksModule', () => {
  it('answer 404 NO_HANDLER saying how to enable tasks', async () => {
    const bus = new BusClient(new MemoryTransport({ broker: new MemoryBroker() }), { agentId: 'plain', logger: quietLogger });
    await bus.connect();
    const { app, url } = await gatewayApp(bus, { taskTargets: ['report.build'] });
    try {
      for (const res of [
        await http(`${url}/v1/agents/report.build/tasks`, { body: {} }),
        await http(`${url}/v1/tasks`),
        await http(`${url}/v1/tasks/x1`),
      ]) {
        assert.equal(res.status, 404);
        assert.equal(res.body.code, 'NO_HANDLER');
        assert.match(res.body.message, /TasksModule\.forRoot/);
      }
    } finally {
      await app.close();
      await bus.close();
    }
  });
});

describe('gateway task routes [JetStream on a real nats-server]', () => {
  let env: TaskEnv;
  let app: Awaited<ReturnType<typeof gatewayApp>>;
  const workers: TaskWorker[] = [];
  const gate = deferred<void>();
  const started = deferred<void>();
  let p: Awaited<ReturnType<TaskEnv['participant']>>;

  before(async () => {
    env = await jetstreamTasks.start();
    p = await env.participant('gw');
    // The TaskClient provided directly (no TasksModule): the gateway finds it all the same.
    app = await gatewayApp(p.bus, { taskTargets: ['js.*'], auth: AUTH }, { providers: [{ provide: TaskClient, useValue: p.tasks }] });
    const worker = await env.participant('worker');
    for (const [target, handler] of [
      [
        'js.report',
        async (_i: unknown, ctx: TaskContext) => {
          await ctx.status('half way');
          await gate.promise;
          await ctx.artifact({ name: 'out', data: 'text' });
          return 'ok';
        },
      ],
      [
        'js.slow',
        (_i: unknown, ctx: TaskContext) =>
          new Promise((_, reject) => {
            started.resolve();
            ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason));
          }),
      ],
    ] as const) {
      const w = new TaskWorker(worker.engine, worker.bus, target, handler);
      await w.start();
      workers.push(w);
    }
  });
  after(async () => {
    for (const w of workers) await w.stop();
    await app?.app.close();
    await env?.close();
  });

  it('submit → 202, follow, drop and resume with Last-Event-ID to completed, tenant 404, cancel a running task', async () => {
    const res = await http(`${app.url}/v1/agents/js.report/tasks`, {
      token: ACME,
      body: { n: 1 },
      headers: { 'x-conversation-id': 'c-js' },
    });
    assert.equal(res.status, 202);
    const task = res.body as TaskRecord;
    assert.equal(task.context_id, 'c-js');
    const first = await openSse(`${app.url}/v1/tasks/${task.id}/events`, { headers: bearer(ACME) });
    await first.waitEvents(3, 10_000); // created, working, "half way"
    first.close();
    gate.resolve();
    const second = await openSse(`${app.url}/v1/tasks/${task.id}/events`, {
      headers: { ...bearer(ACME), 'last-event-id': first.events[2].id! },
    });
    await second.waitEnd(10_000);
    assert.deepEqual(
      [...first.events.slice(0, 3), ...second.events].map((e) => [Number(e.id), e.event]),
      [
        [0, 'agent.task.created'],
        [1, 'agent.task.status'],
        [2, 'agent.task.status'],
        [3, 'agent.task.artifact'],
        [4, 'agent.task.completed'],
      ],
    );
    assert.equal((await http(`${app.url}/v1/tasks/${task.id}`, { token: GLOBEX })).status, 404);
    assert.equal((await http(`${app.url}/v1/tasks/${task.id}`, { token: ACME })).body.result, 'ok');

    const slow = (await http(`${app.url}/v1/agents/js.slow/tasks`, { token: ACME, body: {} })).body as TaskRecord;
    await started.promise;
    assert.equal((await http(`${app.url}/v1/tasks/${slow.id}`, { method: 'DELETE', token: GLOBEX })).status, 404);
    assert.equal((await http(`${app.url}/v1/tasks/${slow.id}`, { method: 'DELETE', token: ACME })).status, 200);
    const ended = await waitState(app.url, slow.id, 'canceled');
    assert.equal(ended.state, 'canceled');
  });
  it('an SSE follower of a task whose record ended but whose log lacks the terminal frame (its append failed in an election) gets that frame and ends, not a hung connection', async () => {
    const task = (await http(`${app.url}/v1/agents/js.unserved/tasks`, { token: ACME, body: {} })).body as TaskRecord;
    const v = (await p.store.get(task.id))!;
    assert.notEqual(await p.store.update({ ...v.record, state: 'completed', result: 'done', seq: 1 }, v.revision), false);
    const sse = await openSse(`${app.url}/v1/tasks/${task.id}/events`, { headers: bearer(ACME) });
    await sse.waitEnd(15_000);
    assert.deepEqual(
      sse.events.map((e) => [Number(e.id), e.event]),
      [
        [0, 'agent.task.created'],
        [1, 'agent.task.completed'],
      ],
    );
  });
});
