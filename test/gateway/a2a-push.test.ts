// A2A push notifications (issue #28 item 5) against a real HTTP receiver: the pushNotificationConfig methods of
// A2A 1.0 (through the official SDK) and 0.3, `configuration.pushNotificationConfig` on message/send, the allow
// list, retries with backoff, the token and the HMAC signature, and X-Callback-Url on the REST task route.
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { createHmac, randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { Task } from '@a2a-js/sdk';
import { type Client as A2aClient, ClientFactory, ClientFactoryOptions, JsonRpcTransportFactory } from '@a2a-js/sdk/client';
import { type Envelope, TaskClient } from '@openagentio/nestjs';
import { resolvePushOptions, webhookRefusal } from '@openagentio/nestjs-gateway/internal/push-notifications.js';
import { authedFetch, data, userMessage } from '../tasks/a2a-messages.js';
import { ACME, GLOBEX, http, taskGateway, type TaskGateway } from '../tasks/gateway-task-app.js';
import { WebhookReceiver } from './webhook-receiver.js';

const SECRET = 'push-signing-key';

/** A task's webhook once its delivery is settled (delivered or given up), read through the REST route. */
async function settled(gw: TaskGateway, taskId: string, ms = 10_000): Promise<{ delivered_at?: string; failed?: string }> {
  const until = Date.now() + ms;
  for (;;) {
    const w = (await http(`${gw.url}/v1/tasks/${taskId}`, { token: ACME })).body.callback.webhooks[0];
    if (w.delivered_at || w.failed) return w;
    // Settling is a record write after the POST's answer, with no event to wait on: read again shortly.
    if (Date.now() > until) throw new Error(`the webhook of ${taskId} was not settled within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const rpc = (gw: TaskGateway, method: string, params: unknown, token = ACME) =>
  http(`${gw.url}/v1/a2a`, { token, body: { jsonrpc: '2.0', id: 1, method, params } });

/** A raw 1.0 SendMessage that returns at once, to a target, with an optional push config. */
function sendRaw(gw: TaskGateway, input: unknown, target: string, push?: Record<string, unknown>) {
  return rpc(gw, 'SendMessage', {
    message: { messageId: randomUUID(), role: 'ROLE_USER', parts: [{ data: input }], metadata: { target } },
    configuration: { returnImmediately: true, ...(push ? { taskPushNotificationConfig: push } : {}) },
  });
}

describe('A2A push notifications and task webhooks, to a real HTTP receiver', () => {
  let gw: TaskGateway;
  let receiver: WebhookReceiver;
  /** A host the allow list does not name: it must never get a byte. */
  let outsider: WebhookReceiver;
  let client: A2aClient;

  before(async () => {
    receiver = await WebhookReceiver.start();
    outsider = await WebhookReceiver.start();
    gw = await taskGateway({
      taskTargets: ['report.*', 'slow.job', 'fail.job'],
      a2a: { target: 'report.build' },
      pushNotifications: { allowUrls: [`${receiver.url}/hooks/`], initialDelayMs: 50, maxDelayMs: 200, signingSecret: SECRET },
    });
    const factory = new ClientFactory(
      ClientFactoryOptions.createFrom(ClientFactoryOptions.default, {
        transports: [new JsonRpcTransportFactory({ fetchImpl: authedFetch(ACME) })],
      }),
    );
    client = await factory.createFromUrl(gw.url);
  });

  after(async () => {
    await gw?.close();
    await receiver?.close();
    await outsider?.close();
    assert.equal(outsider.got.length, 0, 'nothing was sent to a host outside the allow list');
  });

  it('the card says pushNotifications; the SDK sets, gets, lists and deletes a config; completion POSTs the Task with the token and a valid signature', async () => {
    assert.equal((await client.getAgentCard()).capabilities?.pushNotifications, true);
    const gate = `g-${randomUUID()}`;
    const task = (await client.sendMessage({
      tenant: '',
      message: userMessage([data({ quarter: 'Q1', gate })]),
      configuration: { acceptedOutputModes: [], taskPushNotificationConfig: undefined, returnImmediately: true },
      metadata: undefined,
    })) as Task;
    const base = { tenant: '', taskId: task.id, authentication: undefined };
    const set = await client.createTaskPushNotificationConfig({ ...base, id: 'main', url: `${receiver.url}/hooks/done`, token: 'tok-1' });
    assert.deepEqual([set.id, set.taskId, set.url, set.token], ['main', task.id, `${receiver.url}/hooks/done`, 'tok-1']);
    await client.createTaskPushNotificationConfig({ ...base, id: 'spare', url: `${receiver.url}/hooks/spare`, token: '' });
    assert.equal((await client.getTaskPushNotificationConfig({ tenant: '', taskId: task.id, id: 'main' })).token, 'tok-1');
    const listed = await client.listTaskPushNotificationConfig({ tenant: '', taskId: task.id, pageSize: 0, pageToken: '' });
    assert.deepEqual(listed.configs.map((c) => c.id).sort(), ['main', 'spare']);
    await client.deleteTaskPushNotificationConfig({ tenant: '', taskId: task.id, id: 'spare' });
    assert.deepEqual(
      (await client.listTaskPushNotificationConfig({ tenant: '', taskId: task.id, pageSize: 0, pageToken: '' })).configs.map((c) => c.id),
      ['main'],
    );
    assert.equal(receiver.to('/hooks/done').length, 0, 'nothing is sent before the task ends');

    const arrived = receiver.next('/hooks/done');
    gw.agent.gate(gate).resolve();
    const got = await arrived;
    assert.equal(got.headers['x-a2a-notification-token'], 'tok-1');
    assert.equal(got.headers['content-type'], 'application/a2a+json');
    assert.equal(got.json.task.id, task.id);
    assert.equal(got.json.task.status.state, 'TASK_STATE_COMPLETED');
    assert.equal(got.headers['x-acp-notification-id'], `${task.id}.main`);
    const expected = createHmac('sha256', SECRET).update(`${got.headers['x-acp-timestamp']}.${got.body}`).digest('hex');
    assert.equal(got.headers['x-acp-signature'], `sha256=${expected}`);
    assert.equal(receiver.to('/hooks/spare').length, 0, 'a deleted config is not told');
  });

  it('configuration.taskPushNotificationConfig on SendMessage: a failed task notifies with its error', async () => {
    const arrived = receiver.next('/hooks/failed');
    const res = await sendRaw(gw, {}, 'fail.job', { url: `${receiver.url}/hooks/failed`, token: 'tok-f' });
    assert.equal(res.body.error, undefined, JSON.stringify(res.body));
    const got = await arrived;
    assert.equal(got.json.task.id, res.body.result.task.id);
    assert.equal(got.json.task.status.state, 'TASK_STATE_FAILED');
    assert.equal(got.headers['x-a2a-notification-token'], 'tok-f');
    assert.ok(!got.body.includes('the ledger is locked'), 'the handler’s internal error text stays in the log');
  });

  it('A2A 0.3: tasks/pushNotificationConfig/set, then a cancelled task POSTs the 0.3 Task', async () => {
    const sent = await rpc(gw, 'message/send', {
      message: {
        kind: 'message',
        messageId: randomUUID(),
        role: 'user',
        parts: [{ kind: 'data', data: {} }],
        metadata: { target: 'slow.job' },
      },
      configuration: { blocking: false },
    });
    const id = sent.body.result.id as string;
    const set = await rpc(gw, 'tasks/pushNotificationConfig/set', {
      taskId: id,
      pushNotificationConfig: {
        url: `${receiver.url}/hooks/canceled`,
        token: 'tok-03',
        authentication: { schemes: ['Bearer'], credentials: 'c-03' },
      },
    });
    assert.equal(set.body.result.taskId, id);
    assert.equal(set.body.result.pushNotificationConfig.url, `${receiver.url}/hooks/canceled`);
    const configId = set.body.result.pushNotificationConfig.id as string;
    assert.equal(
      (await rpc(gw, 'tasks/pushNotificationConfig/get', { id, pushNotificationConfigId: configId })).body.result.pushNotificationConfig
        .token,
      'tok-03',
    );
    assert.equal((await rpc(gw, 'tasks/pushNotificationConfig/list', { id })).body.result.length, 1);
    const arrived = receiver.next('/hooks/canceled');
    assert.equal((await rpc(gw, 'tasks/cancel', { id })).body.result.status.state, 'canceled');
    const got = await arrived;
    assert.equal(got.json.kind, 'task');
    assert.equal(got.json.id, id);
    assert.equal(got.json.status.state, 'canceled');
    assert.equal(got.headers['x-a2a-notification-token'], 'tok-03');
    assert.equal(got.headers.authorization, 'Bearer c-03');
  });

  it('a receiver answering 500 twice then 200 gets the notification on the third POST, the same each time', async () => {
    receiver.answer = (path, n) => (path === '/hooks/flaky' && n <= 2 ? 500 : 200);
    try {
      const third = receiver.count('/hooks/flaky', 3);
      const res = await sendRaw(gw, { quarter: 'Q2' }, 'report.build', { url: `${receiver.url}/hooks/flaky`, token: 't' });
      const id = res.body.result.task.id as string;
      await third;
      const posts = receiver.to('/hooks/flaky');
      assert.equal(posts.length, 3);
      assert.equal(new Set(posts.map((p) => p.headers['x-acp-notification-id'])).size, 1);
      assert.deepEqual(new Set(posts.map((p) => p.json.task.status.state)), new Set(['TASK_STATE_COMPLETED']));
      // The 2xx is recorded on the task: the webhook is not told again.
      const list = await rpc(gw, 'ListTaskPushNotificationConfigs', { taskId: id });
      assert.equal(list.body.result.configs.length, 1);
      assert.ok((await settled(gw, id)).delivered_at);
      assert.equal(receiver.to('/hooks/flaky').length, 3);
    } finally {
      receiver.answer = () => 200;
    }
  });

  it('a URL outside the allow list is refused when it is set, naming the option, and nothing is submitted or sent', async () => {
    const before = (await http(`${gw.url}/v1/tasks?limit=100`, { token: ACME })).body.tasks.length;
    const viaSend = await sendRaw(gw, {}, 'report.build', { url: `${outsider.url}/hooks/x` });
    assert.equal(viaSend.body.error.code, -32602);
    assert.match(viaSend.body.error.message, /is not allowed: GatewayModule option pushNotifications\.allowUrls does not cover it/);
    assert.equal((await http(`${gw.url}/v1/tasks?limit=100`, { token: ACME })).body.tasks.length, before, 'no task was submitted');

    const task = (await sendRaw(gw, {}, 'slow.job')).body.result.task;
    for (const url of [
      `${outsider.url}/hooks/x`,
      `${receiver.url}/other/x`,
      `ftp://127.0.0.1/hooks/`,
      `http://user:pw@${receiver.url.slice(7)}/hooks/x`,
    ]) {
      const res = await rpc(gw, 'CreateTaskPushNotificationConfig', { taskId: task.id, url });
      assert.equal(res.body.error?.code, -32602, `${url}: ${JSON.stringify(res.body)}`);
      assert.match(res.body.error.message, /is not allowed/);
    }
    // Another tenant's task is not found, config or not.
    const foreign = await rpc(gw, 'CreateTaskPushNotificationConfig', { taskId: task.id, url: `${receiver.url}/hooks/y` }, GLOBEX);
    assert.equal(foreign.body.error.code, -32001);
    await http(`${gw.url}/v1/tasks/${task.id}`, { method: 'DELETE', token: ACME });
  });

  it('a webhook stored without the gateway (TaskClient) is checked again before the POST: off the list, nothing is sent', async () => {
    const task = await gw.app.get(TaskClient).submit(
      'report.build',
      {},
      {
        tenant_id: 'acme',
        callback: { webhooks: [{ url: `${outsider.url}/hooks/direct`, token: 'never-sent' }] },
      },
    );
    assert.match(
      (await settled(gw, task.id)).failed ?? '',
      /not allowed: GatewayModule option pushNotifications\.allowUrls does not cover it/,
    );
    assert.equal(outsider.got.length, 0);
  });

  it('a redirect to a host outside the allow list is not followed', async () => {
    receiver.answer = (path) => (path === '/hooks/redirect' ? { status: 307, location: `${outsider.url}/stolen` } : 200);
    try {
      const arrived = receiver.next('/hooks/redirect');
      const res = await sendRaw(gw, {}, 'report.build', { url: `${receiver.url}/hooks/redirect` });
      assert.ok(res.body.result.task.id);
      await arrived;
      // A redirect is a final answer (not retried): the webhook is given up.
      assert.match((await settled(gw, res.body.result.task.id)).failed ?? '', /HTTP 307 \(redirects are not followed\)/);
      assert.equal(receiver.to('/hooks/redirect').length, 1);
      assert.equal(outsider.got.length, 0);
    } finally {
      receiver.answer = () => 200;
    }
  });

  it('REST: X-Callback-Url on POST /v1/agents/{t}/tasks POSTs the agent.task.completed envelope; one off the list is 400', async () => {
    const arrived = receiver.next('/hooks/rest');
    const res = await http(`${gw.url}/v1/agents/report.build/tasks`, {
      token: ACME,
      body: { quarter: 'Q4' },
      headers: { 'x-callback-url': `${receiver.url}/hooks/rest`, 'x-callback-token': 'rest-tok', 'x-session-id': 'sess-9' },
    });
    assert.equal(res.status, 202);
    const got = await arrived;
    assert.equal(got.json.event_type, 'agent.task.completed');
    assert.equal(got.json.correlation_id, res.body.id);
    assert.equal(got.json.session_id, 'sess-9');
    assert.equal(got.json.tenant_id, 'acme');
    assert.equal(got.json.payload.state, 'completed');
    assert.equal(got.json.payload.result.quarter, 'Q4');
    assert.equal(got.headers['x-a2a-notification-token'], 'rest-tok');

    const refused = await http(`${gw.url}/v1/agents/report.build/tasks`, {
      token: ACME,
      body: {},
      headers: { 'x-callback-url': `${outsider.url}/hooks/rest` },
    });
    assert.equal(refused.status, 400);
    assert.equal(refused.body.code, 'INVALID_REQUEST');
    assert.match(refused.body.message, /pushNotifications\.allowUrls/);
  });
  it('REST: X-Callback: event publishes agent.task.completed on the bus and POSTs nothing; another value is 400', async () => {
    // The event may come before the 202 does: every one is kept, then the task's is picked.
    const events = new Map<string, Envelope>();
    let wake = () => {};
    const sub = gw.bus.subscribe('agent.task.completed', (_p, e) => {
      events.set(e.correlation_id!, e);
      wake();
    });
    await sub.ready;
    const posts = receiver.got.length;
    const res = await http(`${gw.url}/v1/agents/report.build/tasks`, {
      token: ACME,
      body: { quarter: 'Q1' },
      headers: { 'x-callback': 'event' },
    });
    assert.equal(res.status, 202);
    const id = res.body.id as string;
    const deadline = Date.now() + 10_000;
    const timer = setTimeout(() => wake(), 10_000);
    while (!events.has(id) && Date.now() < deadline) await new Promise<void>((resolve) => (wake = resolve));
    clearTimeout(timer);
    assert.ok(events.has(id), 'the agent.task.completed event came within 10 s');
    sub.unsubscribe();
    const e = events.get(id)!;
    assert.equal((e.payload as { state: string }).state, 'completed');
    assert.equal(e.tenant_id, 'acme');
    assert.equal(receiver.got.length, posts);
    const bad = await http(`${gw.url}/v1/agents/report.build/tasks`, { token: ACME, body: {}, headers: { 'x-callback': 'webhook' } });
    assert.equal(bad.status, 400);
    assert.match(bad.body.message, /X-Callback must be "event"/);
  });
});

describe('A2A push notifications on a gateway without an allow list', () => {
  let gw: TaskGateway;
  before(async () => {
    gw = await taskGateway({ a2a: { target: 'report.build' } });
  });
  after(async () => {
    await gw?.close();
  });

  it('the card says no push notifications; a config is PushNotificationNotSupported naming the option', async () => {
    const card = (await http(`${gw.url}/.well-known/agent-card.json`)).body;
    assert.equal(card.capabilities.pushNotifications, false);
    const res = await rpc(gw, 'CreateTaskPushNotificationConfig', { taskId: 'x', url: 'http://127.0.0.1:9/hooks' });
    assert.equal(res.body.error.code, -32003);
    assert.match(res.body.error.message, /pushNotifications\.allowUrls is empty \(nothing is allowed by default\)/);
    const send = await sendRaw(gw, {}, 'report.build', { url: 'http://127.0.0.1:9/hooks' });
    assert.equal(send.body.error.code, -32003);
  });
});

describe('the push notification allow list', () => {
  const allow = resolvePushOptions({ allowUrls: ['https://hooks.example.com/a2a', 'http://127.0.0.1:8080/'] }).allowUrls;
  const ok = (url: string) => assert.equal(webhookRefusal(url, allow), undefined, url);
  const refused = (url: string, why: RegExp) => assert.match(webhookRefusal(url, allow) ?? 'allowed', why, url);

  it('covers the same scheme, host and port at or below the path, nothing else', () => {
    ok('https://hooks.example.com/a2a');
    ok('https://hooks.example.com/a2a/task?x=1');
    ok('https://hooks.example.com:443/a2a/x');
    ok('http://127.0.0.1:8080/anything');
    refused('https://hooks.example.com/a2ax', /does not cover it/);
    refused('https://hooks.example.com/a2a/../admin', /does not cover it/);
    refused('https://hooks.example.com/a2a/%2e%2e/admin', /does not cover it/);
    refused('https://hooks.example.com.evil.test/a2a', /does not cover it/);
    refused('http://hooks.example.com/a2a', /does not cover it/);
    refused('https://hooks.example.com:8443/a2a', /does not cover it/);
    refused('http://127.0.0.1:8081/', /does not cover it/);
    refused('http://localhost:8080/', /does not cover it/);
    refused('https://u:p@hooks.example.com/a2a', /credentials/);
    refused('ftp://hooks.example.com/a2a', /not http or https/);
    refused('/a2a', /not an absolute URL/);
    assert.match(webhookRefusal('http://127.0.0.1:8080/', []) ?? '', /allowUrls is empty \(nothing is allowed by default\)/);
  });

  it('refuses a malformed entry at start-up, naming it', () => {
    assert.throws(
      () => resolvePushOptions({ allowUrls: ['hooks.example.com'] }),
      /pushNotifications\.allowUrls holds "hooks\.example\.com"/,
    );
    assert.throws(() => resolvePushOptions({ attempts: 0 }), /pushNotifications\.attempts must be a positive number/);
  });
});
