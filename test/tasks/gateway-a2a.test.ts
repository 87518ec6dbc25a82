// A2A JSON-RPC over the gateway's tasks, driven by the official A2A JavaScript SDK (@a2a-js/sdk): its ClientFactory
// (A2A 1.0: SendMessage, SendStreamingMessage, GetTask, CancelTask, SubscribeToTask) and its v0.3 compat transport
// (message/send, message/stream, tasks/get, tasks/cancel, tasks/resubscribe), against one endpoint.
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type AgentCard, type Message, Role, type StreamResponse, type Task, TaskState } from '@a2a-js/sdk';
import { type Client as A2aClient, Client, ClientFactory, ClientFactoryOptions, JsonRpcTransportFactory } from '@a2a-js/sdk/client';
import { LegacyJsonRpcTransport } from '@a2a-js/sdk/compat/v0_3/client';
import { BusClient, MemoryBroker, MemoryTransport, type TaskRecord } from '@openagentio/nestjs';
import type { A2aAgentCard } from '@openagentio/nestjs-gateway';
import { gatewayApp } from '../gateway/gateway-app.js';
import { quietLogger } from '../mcp/helpers.js';
import { authedFetch, data, text, userMessage } from './a2a-messages.js';
import { ACME, GLOBEX, http, taskGateway, type TaskGateway } from './gateway-task-app.js';

function send(message: Message, returnImmediately = false) {
  return {
    tenant: '',
    message,
    configuration: { acceptedOutputModes: [], taskPushNotificationConfig: undefined, returnImmediately },
    metadata: undefined,
  };
}

function asTask(r: Task | Message): Task {
  assert.ok('status' in r, 'the answer is a Task');
  return r as Task;
}

async function collect(events: AsyncIterable<StreamResponse>): Promise<StreamResponse[]> {
  const out: StreamResponse[] = [];
  for await (const e of events) out.push(e);
  return out;
}

/** A stream as [kind, detail] pairs: the task's state, a status's state and message, an artifact's id and content. */
function summary(events: StreamResponse[]): Array<[string, unknown]> {
  return events.map((e) => {
    const p = e.payload!;
    if (p.$case === 'task') return ['task', TaskState[p.value.status!.state]];
    if (p.$case === 'statusUpdate') {
      const m = p.value.status!.message?.parts[0]?.content;
      return ['status', [TaskState[p.value.status!.state], m?.$case === 'text' ? m.value : undefined]];
    }
    if (p.$case === 'artifactUpdate') {
      const a = p.value.artifact!;
      return ['artifact', [a.artifactId, a.parts[0].content?.value, p.value.append, p.value.lastChunk]];
    }
    return [p.$case, undefined];
  });
}

async function rejectsAs(p: Promise<unknown> | AsyncIterable<unknown>, name: string, message?: RegExp): Promise<void> {
  const run = Symbol.asyncIterator in (p as object) ? collect(p as AsyncIterable<StreamResponse>) : (p as Promise<unknown>);
  await assert.rejects(run, (e: Error) => {
    assert.equal(e.name, name, `${e.name}: ${e.message}`);
    if (message) assert.match(e.message, message);
    return true;
  });
}

describe('A2A JSON-RPC over gateway tasks, with the official A2A SDK', () => {
  let gw: TaskGateway;
  let client: A2aClient;
  let card: AgentCard;

  before(async () => {
    gw = await taskGateway({ a2a: { target: 'report.build' }, agentCard: { name: 'Reports', version: '1.2.0' } });
    const factory = new ClientFactory(
      ClientFactoryOptions.createFrom(ClientFactoryOptions.default, {
        transports: [new JsonRpcTransportFactory({ fetchImpl: authedFetch(ACME) })],
      }),
    );
    client = await factory.createFromUrl(gw.url);
    card = await client.getAgentCard();
  });
  after(async () => {
    await gw?.close();
  });

  it('the agent card names the JSON-RPC URL (A2A 1.0 and 0.3), streaming and the task targets; ClientFactory picks JSON-RPC 1.0 from it', async () => {
    const raw = (await http(`${gw.url}/.well-known/agent-card.json`)).body as A2aAgentCard;
    const rpc = raw.supportedInterfaces.filter((i) => i.protocolBinding === 'JSONRPC');
    assert.deepEqual(
      rpc.map((i) => [i.url, i.protocolVersion]),
      [
        [`${gw.url}/v1/a2a`, '1.0'],
        [`${gw.url}/v1/a2a`, '0.3'],
      ],
    );
    assert.equal(raw.capabilities.streaming, true);
    assert.deepEqual(raw.skills.map((s) => s.id).sort(), ['ask.quarter', 'report.build', 'slow.job']);
    assert.ok(raw.skills.every((s) => s.tags.includes('task')));
    assert.equal(card.name, 'Reports');
    assert.equal(client.protocolVersion, '1.0');
  });

  it('SendMessage blocks until the task ends: the Task completed, its artifact chunks joined, the result as artifact acp.result, the input first in history, contextId from the message', async () => {
    const task = asTask(await client.sendMessage(send(userMessage([data({ quarter: 'Q3' })], { contextId: 'ctx-a2a' }))));
    assert.equal(task.status!.state, TaskState.TASK_STATE_COMPLETED);
    assert.equal(task.contextId, 'ctx-a2a');
    assert.deepEqual(
      task.artifacts.map((a) => [a.artifactId, a.name, a.parts.map((p) => p.content)]),
      [
        ['md', 'report.md', [{ $case: 'text', value: '# Q3\ndone\n' }]],
        ['acp.result', 'result', [{ $case: 'data', value: { quarter: 'Q3', pages: 3, session: null, tenant: 'acme' } }]],
      ],
    );
    assert.equal(task.history[0].role, Role.ROLE_USER);
    assert.deepEqual(task.history[0].parts[0].content, { $case: 'data', value: { quarter: 'Q3' } });
    assert.equal((task.metadata as { acp: { target: string } }).acp.target, 'report.build');
    // The same task on the REST routes: the token's tenant, the message's context.
    const record = (await http(`${gw.url}/v1/tasks/${task.id}`, { token: ACME })).body as TaskRecord;
    assert.equal(record.tenant_id, 'acme');
    assert.equal(record.context_id, 'ctx-a2a');
    // A text message is the input {text}.
    const fromText = asTask(await client.sendMessage(send(userMessage([text('Q2')]))));
    assert.ok(fromText.contextId, 'a message without a contextId gets a new one');
    assert.deepEqual(fromText.artifacts.at(-1)!.parts[0].content, {
      $case: 'data',
      value: { quarter: 'Q2', pages: 3, session: null, tenant: 'acme' },
    });
  });

  it('SendStreamingMessage: the Task, then TaskStatusUpdateEvents and TaskArtifactUpdateEvents mapped from our frames, to the completed status', async () => {
    const events = await collect(client.sendMessageStream(send(userMessage([data({ quarter: 'Q4' })]))));
    assert.deepEqual(summary(events), [
      ['task', 'TASK_STATE_SUBMITTED'],
      ['status', ['TASK_STATE_WORKING', undefined]],
      ['status', ['TASK_STATE_WORKING', 'collecting Q4']],
      ['artifact', ['md', '# Q4\n', false, false]],
      ['artifact', ['md', 'done\n', true, true]],
      ['artifact', ['acp.result', { quarter: 'Q4', pages: 3, session: null, tenant: 'acme' }, false, true]],
      ['status', ['TASK_STATE_COMPLETED', undefined]],
    ]);
    const taskId = (events[0].payload!.value as Task).id;
    for (const e of events.slice(1)) assert.equal((e.payload!.value as { taskId: string }).taskId, taskId);
  });

  it('SubscribeToTask follows a task sent with returnImmediately; GetTask; CancelTask ends a working task canceled; TaskNotCancelable, TaskNotFound, UnsupportedOperation', async () => {
    const submitted = asTask(await client.sendMessage(send(userMessage([data({ quarter: 'Q1', gate: 'a2a' })]), true)));
    assert.ok([TaskState.TASK_STATE_SUBMITTED, TaskState.TASK_STATE_WORKING].includes(submitted.status!.state));
    // Subscribed (its first event, the Task, has come) while the handler waits at its gate; then it goes on.
    const stream = client.resubscribeTask({ tenant: '', id: submitted.id })[Symbol.asyncIterator]();
    const events: StreamResponse[] = [(await stream.next()).value as StreamResponse];
    gw.agent.gate('a2a').resolve();
    for (let r = await stream.next(); !r.done; r = await stream.next()) events.push(r.value);
    assert.equal(events[0].payload!.$case, 'task');
    assert.deepEqual(summary(events).at(-1), ['status', ['TASK_STATE_COMPLETED', undefined]]);
    const got = await client.getTask({ tenant: '', id: submitted.id, historyLength: 0 });
    assert.equal(got.status!.state, TaskState.TASK_STATE_COMPLETED);
    assert.deepEqual(got.history, [], 'historyLength 0');

    const slow = asTask(
      await client.sendMessage(send(userMessage([data({ key: 'a2a-cancel' })], { metadata: { target: 'slow.job' } }), true)),
    );
    await gw.agent.started('a2a-cancel');
    const canceled = await client.cancelTask({ tenant: '', id: slow.id, metadata: undefined });
    assert.equal(canceled.status!.state, TaskState.TASK_STATE_CANCELED);
    assert.ok(gw.agent.aborted.includes(slow.id));
    await rejectsAs(client.cancelTask({ tenant: '', id: slow.id, metadata: undefined }), 'TaskNotCancelableError', /already ended/);
    await rejectsAs(client.getTask({ tenant: '', id: 'no-such-task', historyLength: undefined }), 'TaskNotFoundError');
    await rejectsAs(client.resubscribeTask({ tenant: '', id: slow.id }), 'UnsupportedOperationError', /already canceled/);
  });

  it('input-required: the stream ends at TASK_STATE_INPUT_REQUIRED with the question; a message with the taskId continues the task to completed', async () => {
    const events = await collect(client.sendMessageStream(send(userMessage([data({})], { metadata: { target: 'ask.quarter' } }))));
    assert.deepEqual(summary(events).slice(-1), [['status', ['TASK_STATE_INPUT_REQUIRED', 'Which quarter?']]]);
    const first = events[0].payload!.value as Task;
    const done = asTask(await client.sendMessage(send(userMessage([text('Q2')], { taskId: first.id, contextId: first.contextId }))));
    assert.equal(done.status!.state, TaskState.TASK_STATE_COMPLETED);
    assert.deepEqual(done.artifacts.at(-1)!.parts[0].content, { $case: 'text', value: 'report for Q2' });
    assert.deepEqual(
      done.history.map((m) => [Role[m.role], m.parts[0].content?.value]),
      [
        ['ROLE_USER', {}],
        ['ROLE_AGENT', 'Which quarter?'],
        ['ROLE_USER', 'Q2'],
      ],
    );
    await rejectsAs(client.sendMessage(send(userMessage([text('Q3')], { taskId: first.id }))), 'UnsupportedOperationError', /completed/);
  });

  it("tenant isolation: another tenant's client gets TaskNotFoundError for the task (get, cancel, subscribe, send)", async () => {
    const mine = asTask(await client.sendMessage(send(userMessage([data({})], { metadata: { target: 'ask.quarter' } }))));
    assert.equal(mine.status!.state, TaskState.TASK_STATE_INPUT_REQUIRED);
    const factory = new ClientFactory(
      ClientFactoryOptions.createFrom(ClientFactoryOptions.default, {
        transports: [new JsonRpcTransportFactory({ fetchImpl: authedFetch(GLOBEX) })],
      }),
    );
    const other = await factory.createFromAgentCard(card);
    await rejectsAs(other.getTask({ tenant: '', id: mine.id, historyLength: undefined }), 'TaskNotFoundError');
    await rejectsAs(other.cancelTask({ tenant: '', id: mine.id, metadata: undefined }), 'TaskNotFoundError');
    await rejectsAs(other.resubscribeTask({ tenant: '', id: mine.id }), 'TaskNotFoundError');
    await rejectsAs(other.sendMessage(send(userMessage([text('Q1')], { taskId: mine.id }))), 'TaskNotFoundError');
    assert.equal(
      (await client.getTask({ tenant: '', id: mine.id, historyLength: undefined })).status!.state,
      TaskState.TASK_STATE_INPUT_REQUIRED,
    );
  });

  it("A2A 0.3 (message/send, message/stream, tasks/get, tasks/cancel, tasks/resubscribe) through the SDK's LegacyJsonRpcTransport", async () => {
    const methods: string[] = [];
    const legacy = new Client(new LegacyJsonRpcTransport({ endpoint: `${gw.url}/v1/a2a`, fetchImpl: authedFetch(ACME, methods) }), card);
    assert.equal(legacy.protocolVersion, '0.3');
    const done = asTask(await legacy.sendMessage(send(userMessage([data({ quarter: 'Q3' })], { contextId: 'ctx-03' }))));
    assert.equal(done.status!.state, TaskState.TASK_STATE_COMPLETED);
    assert.equal(done.contextId, 'ctx-03');
    assert.deepEqual(done.artifacts[0].parts[0].content, { $case: 'text', value: '# Q3\ndone\n' });
    assert.deepEqual(done.artifacts[1].parts[0].content, {
      $case: 'data',
      value: { quarter: 'Q3', pages: 3, session: null, tenant: 'acme' },
    });
    const events = await collect(legacy.sendMessageStream(send(userMessage([data({ quarter: 'Q4' })]))));
    assert.deepEqual(summary(events), [
      ['task', 'TASK_STATE_SUBMITTED'],
      ['status', ['TASK_STATE_WORKING', undefined]],
      ['status', ['TASK_STATE_WORKING', 'collecting Q4']],
      ['artifact', ['md', '# Q4\n', false, false]],
      ['artifact', ['md', 'done\n', true, true]],
      ['artifact', ['acp.result', { quarter: 'Q4', pages: 3, session: null, tenant: 'acme' }, false, true]],
      ['status', ['TASK_STATE_COMPLETED', undefined]],
    ]);
    // A non-object data part (0.3 wraps it as {value}): the task's input is the value itself.
    const wrapped = asTask(await legacy.sendMessage(send(userMessage([data([1, 2])]), true)));
    assert.deepEqual(((await http(`${gw.url}/v1/tasks/${wrapped.id}`, { token: ACME })).body as TaskRecord).input, [1, 2]);
    const followed = await collect(legacy.resubscribeTask({ tenant: '', id: wrapped.id })).catch((e: Error) => e);
    // Subscribing may come after it already ended (UnsupportedOperation), else it follows it to completed.
    if (followed instanceof Error) assert.equal(followed.name, 'UnsupportedOperationError');
    else assert.deepEqual(summary(followed).at(-1), ['status', ['TASK_STATE_COMPLETED', undefined]]);
    assert.equal(
      (await legacy.getTask({ tenant: '', id: wrapped.id, historyLength: undefined })).status!.state,
      TaskState.TASK_STATE_COMPLETED,
    );
    const slow = asTask(
      await legacy.sendMessage(send(userMessage([data({ key: 'legacy-cancel' })], { metadata: { target: 'slow.job' } }), true)),
    );
    await gw.agent.started('legacy-cancel');
    assert.equal((await legacy.cancelTask({ tenant: '', id: slow.id, metadata: undefined })).status!.state, TaskState.TASK_STATE_CANCELED);
    await rejectsAs(legacy.getTask({ tenant: '', id: 'nope', historyLength: undefined }), 'TaskNotFoundError');
    assert.deepEqual(
      [...new Set(methods)].sort(),
      ['message/send', 'message/stream', 'tasks/cancel', 'tasks/get', 'tasks/resubscribe'],
      'only A2A 0.3 method names went over the wire',
    );
  });

  it('raw JSON-RPC: unknown method -32601, params not an object -32602, not a request -32600, push notifications -32003, an unexposed target or an agent message -32602; bad JSON and no token are ErrorPayloads (400, 401)', async () => {
    const rpc = (body: unknown, token = ACME) => http(`${gw.url}/v1/a2a`, { token, body });
    const err = async (body: unknown, code: number, message?: RegExp) => {
      const res = await rpc(body);
      assert.equal(res.status, 200);
      assert.equal(res.body.jsonrpc, '2.0');
      assert.equal(res.body.error.code, code, JSON.stringify(res.body));
      if (message) assert.match(res.body.error.message, message);
    };
    await err({ jsonrpc: '2.0', id: 1, method: 'tasks/list', params: {} }, -32601);
    await err({ jsonrpc: '2.0', id: 2, method: 'SendMessage', params: '{"x":' }, -32602);
    await err({ id: 3, method: 'SendMessage' }, -32600);
    await err({ jsonrpc: '2.0', id: 4, method: 'CreateTaskPushNotificationConfig', params: {} }, -32003);
    await err(
      {
        jsonrpc: '2.0',
        id: 5,
        method: 'SendMessage',
        params: { message: { messageId: 'm1', role: 'ROLE_USER', parts: [{ text: 'x' }], metadata: { target: 'billing.charge' } } },
      },
      -32602,
      /task target "billing\.charge" is not exposed/,
    );
    await err(
      {
        jsonrpc: '2.0',
        id: 6,
        method: 'SendMessage',
        params: { message: { messageId: 'm1', role: 'ROLE_AGENT', parts: [{ text: 'x' }] } },
      },
      -32602,
    );
    // The gateway reads its own bodies: bad JSON is JSON-RPC's parse error, as the spec says.
    await err('{"jsonrpc":', -32700, /not valid JSON/);
    const anon = await rpc({ jsonrpc: '2.0', id: 7, method: 'GetTask', params: { id: 'x' } }, '');
    assert.equal(anon.status, 401);
    assert.equal(anon.body.code, 'AUTH_FAILURE');
  });
});

describe('A2A JSON-RPC configuration', () => {
  it('without the a2a option POST /v1/a2a is 404 NO_HANDLER and the card names no JSON-RPC interface', async () => {
    const gw = await taskGateway();
    try {
      const res = await http(`${gw.url}/v1/a2a`, { token: ACME, body: { jsonrpc: '2.0', id: 1, method: 'GetTask', params: { id: 'x' } } });
      assert.equal(res.status, 404);
      assert.equal(res.body.code, 'NO_HANDLER');
      assert.match(res.body.message, /option a2a/);
      const raw = (await http(`${gw.url}/.well-known/agent-card.json`)).body as A2aAgentCard;
      assert.ok(!raw.supportedInterfaces.some((i) => i.protocolBinding === 'JSONRPC'));
    } finally {
      await gw.close();
    }
  });

  it('an a2a.target that taskTargets does not cover fails at startup', async () => {
    const bus = new BusClient(new MemoryTransport({ broker: new MemoryBroker() }), { agentId: 'bad', logger: quietLogger });
    await bus.connect();
    try {
      await assert.rejects(
        gatewayApp(bus, { taskTargets: ['report.*'], a2a: { target: 'billing.charge' } }),
        /a2a\.target "billing\.charge" is not covered by taskTargets/,
      );
    } finally {
      await bus.close();
    }
  });
});
