// Issue 23 (task store), gateway side: followers that leave (SSE, A2A blocking and streaming calls) take their
// JetStream consumer with them, a per-identity follower cap answers 429, and hostile identifiers get clear errors.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { BusClient, JetStreamTaskStore, NatsTransport, TaskClient, TaskEngine, TaskWorker } from '@openagentio/nestjs';
import { RecordingLogger } from '../support/bus-fixture.js';
import { NatsServer } from '../support/nats-server.js';
import { gatewayApp } from '../gateway/gateway-app.js';
import { ACME, AUTH, GLOBEX, http, taskGateway, type TaskGateway } from './gateway-task-app.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

function heapAfterGc(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

const MB = 1024 * 1024;

const message = (text: string, extra: Record<string, unknown> = {}) => ({
  messageId: `m-${text}-${Math.random()}`,
  role: 'ROLE_USER',
  parts: [{ text }],
  ...extra,
});

describe('gateway task followers on JetStream: nothing outlives the client', () => {
  let dir: string;
  let server: NatsServer;
  let bus: BusClient;
  let store: JetStreamTaskStore;
  let tasks: TaskClient;
  let app: Awaited<ReturnType<typeof gatewayApp>>;
  let worker: TaskWorker;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gw-tasks-hostile-'));
    server = await NatsServer.start({ extraConfig: `jetstream { store_dir: ${JSON.stringify(dir)} }` });
    bus = new BusClient(new NatsTransport({ servers: server.url }), { agentId: 'gw', logger: new RecordingLogger() });
    await bus.connect();
    store = new JetStreamTaskStore((bus.transport as NatsTransport).connection!, { ackWaitMs: 1500 });
    await store.init();
    const engine = new TaskEngine(store, bus);
    tasks = new TaskClient(engine);
    // Never ends on its own: every follower of its tasks waits until it leaves.
    worker = new TaskWorker(
      engine,
      bus,
      'js.never',
      (_i, ctx) => new Promise((_, reject) => ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason))),
      {
        concurrency: 500,
      },
    );
    await worker.start();
    app = await gatewayApp(
      bus,
      { taskTargets: ['js.*'], auth: AUTH, a2a: { target: 'js.never' }, maxTaskFollowers: 1_000 },
      { providers: [{ provide: TaskClient, useValue: tasks }] },
    );
  });
  after(async () => {
    await worker?.stop();
    await app?.app.close();
    await store?.close();
    await bus?.close();
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Opens `n` followers at once, waits until each holds its consumer, drops them all; the count is back within 5 s. */
  async function openAndLeave(n: number, open: (signal: AbortSignal) => Promise<unknown>): Promise<void> {
    const baseline = await store.followerConsumers();
    const ac = new AbortController();
    const pending = Array.from({ length: n }, () => open(ac.signal).catch(() => undefined));
    await eventually(async () => (await store.followerConsumers()) >= baseline + n, `${n} followers holding consumers`);
    ac.abort();
    await Promise.all(pending);
    await eventually(async () => (await store.followerConsumers()) === baseline, `consumers back to ${baseline}`);
  }

  it('200 SSE clients, 100 blocking A2A sends and 50 A2A streams that leave take their consumers with them within 5 s (was: each left a consumer for 5 min)', async () => {
    const task = await tasks.submit('js.never', {}, { tenant_id: 'acme', user_id: 'ann' });
    const headers = { authorization: `Bearer ${ACME}` };
    await openAndLeave(200, (signal) => fetch(`${app.url}/v1/tasks/${task.id}/events`, { headers, signal }));
    const rpc = (method: string, params: unknown, signal: AbortSignal) =>
      fetch(`${app.url}/v1/a2a`, {
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/json' },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
        signal,
      });
    await openAndLeave(100, (signal) => rpc('SendMessage', { message: message('block') }, signal));
    await openAndLeave(50, (signal) => rpc('SendStreamingMessage', { message: message('stream') }, signal));
  });

  it('2,000 SSE open/close cycles: consumers at baseline within 5 s, nats-server and gateway memory near their baselines (was: 2,000 consumers, RSS 13 → 96 MB, gateway 125 → 223 MB)', async () => {
    const task = await tasks.submit('js.never', {}, { tenant_id: 'acme', user_id: 'ann' });
    const headers = { authorization: `Bearer ${ACME}` };
    const baseline = await store.followerConsumers();
    const natsBefore = await serverMem(server);
    const heapBefore = heapAfterGc();
    for (let round = 0; round < 100; round++) {
      await Promise.all(
        Array.from({ length: 20 }, async () => {
          const ac = new AbortController();
          const res = await fetch(`${app.url}/v1/tasks/${task.id}/events`, { headers, signal: ac.signal });
          const reader = res.body!.getReader();
          await reader.read(); // the stream is open
          ac.abort();
          await reader.closed.catch(() => undefined);
        }),
      );
    }
    await eventually(async () => (await store.followerConsumers()) === baseline, `consumers back to ${baseline}`);
    const natsAfter = await serverMem(server);
    const heapAfter = heapAfterGc();
    assert.ok(natsAfter - natsBefore < 30 * MB, `nats-server RSS ${natsBefore / MB} → ${natsAfter / MB} MB`);
    assert.ok(heapAfter - heapBefore < 20 * MB, `gateway heap ${heapBefore / MB} → ${heapAfter / MB} MB`);
  });
});

describe('gateway task followers: the per-identity cap, and hostile identifiers', () => {
  let gw: TaskGateway;
  before(async () => {
    gw = await taskGateway({ a2a: { target: 'report.build' }, maxTaskFollowers: 2 });
  });
  after(() => gw?.close());

  it('a third follower of one identity is 429 BACKPRESSURE_DROP (SSE and A2A alike); another identity is not held back; a follower that leaves frees its slot', async () => {
    const task = (await http(`${gw.url}/v1/agents/slow.job/tasks`, { token: ACME, body: { key: 'cap' } })).body;
    const ac = new AbortController();
    const open = () => fetch(`${gw.url}/v1/tasks/${task.id}/events`, { headers: { authorization: `Bearer ${ACME}` }, signal: ac.signal });
    const two = [await open(), await open()];
    assert.deepEqual(
      two.map((r) => r.status),
      [200, 200],
    );
    const third = await fetch(`${gw.url}/v1/tasks/${task.id}/events`, { headers: { authorization: `Bearer ${ACME}` } });
    assert.equal(third.status, 429);
    const refusal = (await third.json()) as { code: string; message: string };
    assert.equal(refusal.code, 'BACKPRESSURE_DROP');
    assert.match(refusal.message, /limit 2/);
    const before = (await http(`${gw.url}/v1/tasks?limit=100`, { token: ACME })).body.tasks.length;
    const blocked = await http(`${gw.url}/v1/a2a`, {
      token: ACME,
      body: { jsonrpc: '2.0', id: 1, method: 'SendMessage', params: { message: message('capped') } },
    });
    assert.equal(blocked.status, 429);
    assert.equal((await http(`${gw.url}/v1/tasks?limit=100`, { token: ACME })).body.tasks.length, before, 'nothing was submitted');
    const other = (await http(`${gw.url}/v1/agents/slow.job/tasks`, { token: GLOBEX, body: { key: 'other' } })).body;
    const otherRes = await fetch(`${gw.url}/v1/tasks/${other.id}/events`, { headers: { authorization: `Bearer ${GLOBEX}` } });
    assert.equal(otherRes.status, 200);
    await otherRes.body!.cancel();
    ac.abort();
    for (const r of two) await r.body!.cancel().catch(() => undefined);
    // The slots come back as the server sees the clients go (a close event per connection).
    const t0 = Date.now();
    for (;;) {
      const again = await fetch(`${gw.url}/v1/tasks/${task.id}/events`, { headers: { authorization: `Bearer ${ACME}` } });
      await again.body?.cancel();
      if (again.status === 200) break;
      assert.equal(again.status, 429);
      assert.ok(Date.now() - t0 < 5_000, 'the slots did not come back when the followers left');
      await new Promise((r) => setTimeout(r, 20));
    }
  });

  it('an A2A message with a numeric taskId is invalid params and submits nothing (was: a new task); a 100,000-character task id is clipped in the error (was: echoed whole)', async () => {
    const before = (await http(`${gw.url}/v1/tasks?limit=100`, { token: ACME })).body.tasks.length;
    const numeric = await http(`${gw.url}/v1/a2a`, {
      token: ACME,
      body: { jsonrpc: '2.0', id: 1, method: 'SendMessage', params: { message: message('n', { taskId: 42 }) } },
    });
    assert.equal(numeric.body.error.code, -32602);
    assert.match(numeric.body.error.message, /taskId must be a string/);
    assert.equal((await http(`${gw.url}/v1/tasks?limit=100`, { token: ACME })).body.tasks.length, before);
    const long = 'a'.repeat(100_000);
    // A URL stops at Node's 16 KiB header limit (431): 10,000 characters get through to the route.
    const rest = await http(`${gw.url}/v1/tasks/${long.slice(0, 10_000)}`, { token: ACME });
    assert.equal(rest.status, 404);
    assert.ok(rest.body.message.length < 200, `message of ${rest.body.message.length} characters`);
    assert.ok(rest.body.message.includes(`${'a'.repeat(128)}…`));
    const rpc = await http(`${gw.url}/v1/a2a`, { token: ACME, body: { jsonrpc: '2.0', id: 2, method: 'GetTask', params: { id: long } } });
    assert.equal(rpc.body.error.code, -32001);
    assert.ok(JSON.stringify(rpc.body).length < 1_000, 'the JSON-RPC error does not carry the id whole');
  });
});

async function eventually(check: () => Promise<boolean>, what: string): Promise<void> {
  const end = Date.now() + 5_000;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function serverMem(server: NatsServer): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${server.monitorPort}/varz`);
  return ((await res.json()) as { mem: number }).mem;
}
