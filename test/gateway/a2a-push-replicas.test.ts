// Who delivers task webhooks on JetStream (issue #28 item 5): with two gateway replicas each notification is POSTed
// by exactly one of them (one durable consumer of the callback queue), and one that is pending while no gateway
// runs is delivered by the gateway that starts next. Real nats-server, real HTTP receiver.
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { INestApplication } from '@nestjs/common';
import { TaskClient } from '@openagentio/nestjs';
import { TaskWorker } from '@openagentio/nestjs/internal/tasks/task-worker.js';
import type { GatewayModuleOptions } from '@openagentio/nestjs-gateway';
import { jetstreamTasks, type TaskEnv } from '../tasks/task-fixtures.js';
import { gatewayApp } from './gateway-app.js';
import { WebhookReceiver } from './webhook-receiver.js';

describe('task webhooks with several gateway replicas on JetStream', () => {
  let env: TaskEnv;
  let receiver: WebhookReceiver;
  let worker: Awaited<ReturnType<TaskEnv['participant']>>;
  let taskWorker: TaskWorker;
  const apps: INestApplication[] = [];

  const options = (): GatewayModuleOptions => ({
    taskTargets: ['js.*'],
    pushNotifications: { allowUrls: [`${receiver.url}/hooks/`], initialDelayMs: 50, maxDelayMs: 200 },
  });

  async function gateway(name: string): Promise<INestApplication> {
    const p = await env.participant(name);
    const { app } = await gatewayApp(p.bus, options(), { providers: [{ provide: TaskClient, useValue: p.tasks }] });
    apps.push(app);
    return app;
  }

  before(async () => {
    receiver = await WebhookReceiver.start();
    env = await jetstreamTasks.start();
    worker = await env.participant('worker');
    taskWorker = new TaskWorker(worker.engine, worker.bus, 'js.report', (input) => ({ echoed: input }), { concurrency: 8 });
    await taskWorker.start();
  });

  after(async () => {
    for (const app of apps) await app.close().catch(() => undefined);
    await taskWorker?.stop();
    await env?.close();
    await receiver?.close();
  });

  it('two replicas: each of 40 notifications is POSTed exactly once', async () => {
    const g1 = await gateway('gw-1');
    const g2 = await gateway('gw-2');
    const n = 40;
    const all = receiver.count('/hooks/many', n, 30_000);
    const ids: string[] = [];
    for (let i = 0; i < n; i++) {
      const t = await worker.tasks.submit('js.report', i, { callback: { webhooks: [{ id: 'w', url: `${receiver.url}/hooks/many` }] } });
      ids.push(t.id);
    }
    await all;
    // Every webhook recorded as delivered: no replica still has one of them in hand.
    for (const id of ids) {
      for (;;) {
        const [w] = await worker.tasks.webhooks(id);
        if (w.delivered_at) break;
        await new Promise((r) => setTimeout(r, 20)); // a record write after the POST's answer, with no event to await
      }
    }
    const perTask = new Map<string, number>();
    for (const r of receiver.to('/hooks/many')) perTask.set(r.json.correlation_id, (perTask.get(r.json.correlation_id) ?? 0) + 1);
    assert.deepEqual([...perTask.keys()].sort(), [...ids].sort());
    assert.deepEqual(new Set(perTask.values()), new Set([1]), 'no notification was POSTed twice');
    // The envelope's `from` is the delivering replica's agent id: both took a share.
    const byReplica = new Map<string, number>();
    for (const r of receiver.to('/hooks/many')) byReplica.set(r.json.from, (byReplica.get(r.json.from) ?? 0) + 1);
    assert.deepEqual([...byReplica.keys()].sort(), ['gw-1', 'gw-2'], JSON.stringify([...byReplica]));
    await g1.close();
    await g2.close();
    apps.length = 0;
  });

  it('a replica that stops mid-delivery leaves the notification to another one, which delivers it', async () => {
    receiver.answer = (path, n) => (path === '/hooks/handover' && n === 1 ? 'hang' : 200);
    try {
      const gA = await gateway('gw-a');
      const first = receiver.next('/hooks/handover');
      const t = await worker.tasks.submit('js.report', 'handover', {
        callback: { webhooks: [{ id: 'h', url: `${receiver.url}/hooks/handover` }] },
      });
      assert.equal((await first).json.from, 'gw-a');
      await gateway('gw-b');
      const second = receiver.next('/hooks/handover');
      await gA.close(); // its POST is abandoned unanswered, its queue entry unacknowledged
      const got = await second;
      assert.equal(got.json.from, 'gw-b');
      assert.equal(got.json.correlation_id, t.id);
      assert.equal(got.headers['x-acp-notification-id'], `${t.id}.h`);
      for (;;) {
        const [w] = await worker.tasks.webhooks(t.id);
        if (w.delivered_at) break;
        await new Promise((r) => setTimeout(r, 20)); // a record write after the POST's answer, with no event to await
      }
      assert.equal(receiver.to('/hooks/handover').length, 2);
    } finally {
      receiver.answer = () => 200;
      for (const app of apps.splice(0)) await app.close().catch(() => undefined);
    }
  });

  it('a notification pending while no gateway runs is delivered by the next gateway to start', async () => {
    const t = await worker.tasks.submit('js.report', 'while down', {
      callback: { webhooks: [{ id: 'later', url: `${receiver.url}/hooks/later`, token: 'tok-later' }] },
    });
    const done = await worker.tasks.wait(t.id, { timeout: 10_000 });
    assert.equal(done.state, 'completed');
    assert.equal(receiver.to('/hooks/later').length, 0, 'no gateway, no POST');
    const arrived = receiver.next('/hooks/later');
    await gateway('gw-3');
    const got = await arrived;
    assert.equal(got.json.correlation_id, t.id);
    assert.equal(got.json.payload.state, 'completed');
    assert.equal(got.headers['x-a2a-notification-token'], 'tok-later');
  });
});
