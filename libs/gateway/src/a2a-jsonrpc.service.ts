import { Injectable, Optional } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { BusError, ErrorCodes, isTerminalTaskState, type TaskRecord, type TaskWebhookInput } from '@openagentio/nestjs';
import { subjectMatches } from '@openagentio/nestjs/internal/protocol/subject-match.js';
import type { A2aAgentCard } from './agent-card.js';
import { PUSH_CONFIG_METHODS, pushConfigMethod, readPushConfig } from './a2a-push-config.js';
import {
  A2aErrorCodes,
  A2aRpcError,
  a2aTask,
  type A2aVersion,
  frameEvents,
  inputOf,
  isObject,
  readMessage,
  taskEvent,
} from './a2a-mapping.js';
import type { GatewayRequest } from './gateway-auth.js';
import { GatewayHttpError, toGatewayError } from './gateway-errors.js';
import { onClientGone } from './sse.js';
import { TaskGatewayService } from './task-gateway.service.js';
import { QuotaService } from './quota/quota.service.js';

/** Where the gateway serves A2A JSON-RPC (the agent card names it). */
export const A2A_JSONRPC_PATH = '/v1/a2a';

/** How long tasks/cancel waits for a running task's worker to stop it before answering with the task as it is. */
const CANCEL_WAIT_MS = 10_000;

type RpcId = string | number | null;

/**
 * A thin A2A JSON-RPC endpoint over the gateway's tasks (docs/tasks.md, "Gateway and A2A"): A2A 1.0's `SendMessage`,
 * `SendStreamingMessage`, `GetTask`, `CancelTask`, `SubscribeToTask` and A2A 0.3's `message/send`, `message/stream`,
 * `tasks/get`, `tasks/cancel`, `tasks/resubscribe`, each answering in its version's shape. A message submits a task
 * to `a2a.target` (or the exposed task target its `metadata.target` names); one with a `taskId` is the input an
 * input-required task asked for. The caller's identity, tenant rules and `taskTargets` are the task routes'.
 */
@Injectable()
export class A2aJsonRpcService {
  constructor(
    private readonly tasks: TaskGatewayService,
    @Optional() private readonly quotas?: QuotaService,
  ) {
    const { a2a, taskTargets } = tasks.gateway.options;
    if (a2a && !taskTargets.some((p) => p === a2a.target || subjectMatches(p, a2a.target))) {
      throw new Error(`GatewayModule: a2a.target "${a2a.target}" is not covered by taskTargets`);
    }
  }

  private get gateway() {
    return this.tasks.gateway;
  }

  /** The `a2a` option is set and a TaskClient is there. */
  get enabled(): boolean {
    return this.gateway.options.a2a !== undefined && this.tasks.available;
  }

  /** Adds the JSON-RPC interface (A2A 1.0 and 0.3 at one URL), streaming and the task targets (as skills) to the agent card. */
  describe(card: A2aAgentCard, baseUrl: string): void {
    if (!this.enabled) return;
    const url = `${baseUrl.replace(/\/+$/, '')}${A2A_JSONRPC_PATH}`;
    card.supportedInterfaces.push(
      { url, protocolBinding: 'JSONRPC', tenant: '', protocolVersion: '1.0' },
      { url, protocolBinding: 'JSONRPC', tenant: '', protocolVersion: '0.3' },
    );
    card.capabilities.streaming = true;
    if (this.gateway.options.pushNotifications.allowUrls.length > 0) card.capabilities.pushNotifications = true;
    const main = this.gateway.options.a2a!.target;
    // The plain names among taskTargets (a pattern names no skill), and the target messages go to.
    for (const target of new Set([main, ...this.gateway.options.taskTargets.filter((t) => !/[*>]/.test(t))])) {
      const skill = card.skills.find((s) => s.id === target);
      if (skill) {
        if (!skill.tags.includes('task')) skill.tags.push('task');
        continue;
      }
      card.skills.push({
        id: target,
        name: target,
        description: `task target ${target}${target === main ? ' (where A2A messages go unless metadata.target names another)' : ''}`,
        tags: ['task'],
        examples: [],
        inputModes: ['application/json', 'text/plain'],
        outputModes: ['application/json'],
        securityRequirements: [],
      });
    }
  }

  /** POST /v1/a2a: one JSON-RPC request (batches are not supported). */
  async handle(req: GatewayRequest, res: ServerResponse): Promise<void> {
    if (!this.gateway.options.a2a) {
      throw new GatewayHttpError(ErrorCodes.NO_HANDLER, 'A2A is not enabled on this gateway (GatewayModule option a2a)');
    }
    this.tasks.ensureTasks();
    let body: unknown;
    try {
      body = await this.gateway.readBody(req);
    } catch (err) {
      if (err instanceof GatewayHttpError && err.status === 400)
        return reply(res, null, { error: new A2aRpcError(A2aErrorCodes.PARSE_ERROR, err.message) });
      throw err;
    }
    const id: RpcId = isObject(body) && (typeof body.id === 'string' || typeof body.id === 'number') ? body.id : null;
    if (!isObject(body) || body.jsonrpc !== '2.0' || typeof body.method !== 'string') {
      return reply(res, id, {
        error: new A2aRpcError(A2aErrorCodes.INVALID_REQUEST, 'not a JSON-RPC 2.0 request (batches are not supported)'),
      });
    }
    const params = body.params ?? {};
    try {
      if (!isObject(params)) throw new A2aRpcError(A2aErrorCodes.INVALID_PARAMS, 'params must be an object');
      await this.dispatch(req, res, body.method, params, id);
    } catch (err) {
      // Too many followers is the gateway's 429 (as failed authentication is its 401), so clients back off.
      if (err instanceof GatewayHttpError && err.status === 429 && !res.headersSent) throw err;
      if (!res.headersSent) reply(res, id, { error: rpcError(err) });
      else res.end();
    }
  }

  private async dispatch(
    req: GatewayRequest,
    res: ServerResponse,
    method: string,
    params: Record<string, unknown>,
    id: RpcId,
  ): Promise<void> {
    const v: A2aVersion = method.includes('/') ? '0.3' : '1.0';
    switch (method) {
      case 'SendMessage':
      case 'message/send':
        return this.sendMessage(req, res, params, id, v, false);
      case 'SendStreamingMessage':
      case 'message/stream':
        return this.sendMessage(req, res, params, id, v, true);
      case 'GetTask':
      case 'tasks/get': {
        const r = await this.findTask(req, params.id);
        return reply(res, id, { result: a2aTask(r, v, historyLength(params.historyLength)) });
      }
      case 'CancelTask':
      case 'tasks/cancel':
        return this.cancelTask(req, res, params, id, v);
      case 'SubscribeToTask':
      case 'tasks/resubscribe': {
        const r = await this.findTask(req, params.id);
        if (isTerminalTaskState(r.state)) throw new A2aRpcError(A2aErrorCodes.UNSUPPORTED_OPERATION, `task ${r.id} is already ${r.state}`);
        return this.streamTask(res, id, r, v, this.tasks.acquireFollower(req));
      }
      case 'GetExtendedAgentCard':
      case 'agent/getAuthenticatedExtendedCard':
        throw new A2aRpcError(A2aErrorCodes.EXTENDED_CARD_NOT_CONFIGURED, 'this agent has no extended agent card');
      default:
        if (PUSH_CONFIG_METHODS.has(method)) return reply(res, id, { result: await pushConfigMethod(this.tasks, req, method, params, v) });
        throw new A2aRpcError(A2aErrorCodes.METHOD_NOT_FOUND, `method not found: ${method}`);
    }
  }

  /** SendMessage / message/send, and their streaming forms. */
  private async sendMessage(
    req: GatewayRequest,
    res: ServerResponse,
    params: Record<string, unknown>,
    id: RpcId,
    v: A2aVersion,
    stream: boolean,
  ): Promise<void> {
    // A message is a task submission (a new task, or more input that queues one again): the `task` quota.
    this.quotas?.check('task', req, res);
    const msg = readMessage(params.message, v);
    const input = inputOf(msg.parts);
    const cfg = isObject(params.configuration) ? params.configuration : {};
    // Checked against the allow list before anything is submitted (1.0 taskPushNotificationConfig, 0.3 pushNotificationConfig).
    const pushRaw = v === '0.3' ? cfg.pushNotificationConfig : cfg.taskPushNotificationConfig;
    const push = isObject(pushRaw) ? readPushConfig(pushRaw, v, this.gateway.options.pushNotifications.allowUrls) : undefined;
    // Blocking unless asked not to (1.0 returnImmediately, 0.3 blocking: false): until the task ends or waits for input.
    const blocking = v === '0.3' ? cfg.blocking !== false : cfg.returnImmediately !== true;
    // A stream or a blocking send follows the task: its slot is taken before anything is submitted.
    const release = stream || blocking ? this.tasks.acquireFollower(req) : () => undefined;
    try {
      const record = await this.submitMessage(req, msg, input, params, push);
      if (stream) return await this.streamTask(res, id, record, v, release);
      const task = a2aTask(blocking ? await this.waitForPause(res, record) : record, v, historyLength(cfg.historyLength));
      reply(res, id, { result: v === '0.3' ? task : { task } });
    } finally {
      release();
    }
  }

  /** The task a message is for: more input for the task its taskId names, or a new task. */
  private async submitMessage(
    req: GatewayRequest,
    msg: ReturnType<typeof readMessage>,
    input: unknown,
    params: Record<string, unknown>,
    push?: TaskWebhookInput,
  ): Promise<TaskRecord> {
    let record: TaskRecord;
    if (msg.taskId) {
      const current = await this.findTask(req, msg.taskId);
      if (msg.contextId && current.context_id !== undefined && msg.contextId !== current.context_id) {
        throw new A2aRpcError(
          A2aErrorCodes.INVALID_PARAMS,
          `task ${current.id} belongs to context ${current.context_id}, not ${msg.contextId}`,
        );
      }
      if (current.state !== 'input-required' && current.state !== 'auth-required') {
        throw new A2aRpcError(
          A2aErrorCodes.UNSUPPORTED_OPERATION,
          `task ${current.id} is ${current.state}: it takes a message only while input-required or auth-required`,
        );
      }
      if (push) await this.tasks.tasks.setWebhook(current.id, push);
      record = await this.tasks.tasks.send(current.id, input);
    } else {
      const named = msg.metadata?.target ?? (isObject(params.metadata) ? params.metadata.target : undefined);
      const target = typeof named === 'string' && named ? named : this.gateway.options.a2a!.target;
      try {
        this.gateway.assertExposed(this.gateway.options.taskTargets, target, 'task target');
      } catch (err) {
        throw new A2aRpcError(A2aErrorCodes.INVALID_PARAMS, (err as Error).message);
      }
      record = await this.tasks.submitFor(req, target, input, msg.contextId ?? randomUUID(), push && { webhooks: [push] });
    }
    return record;
  }

  private async waitForPause(res: ServerResponse, record: TaskRecord): Promise<TaskRecord> {
    const ac = new AbortController();
    onClientGone(res, () => ac.abort());
    try {
      return await this.tasks.tasks.wait(record.id, { orPause: true, signal: ac.signal });
    } catch (err) {
      if (ac.signal.aborted) return record; // the client went away: nobody reads the answer
      throw err;
    }
  }

  private async cancelTask(
    req: GatewayRequest,
    res: ServerResponse,
    params: Record<string, unknown>,
    id: RpcId,
    v: A2aVersion,
  ): Promise<void> {
    const r = await this.findTask(req, params.id);
    const notCancelable = () =>
      new A2aRpcError(A2aErrorCodes.TASK_NOT_CANCELABLE, `task ${r.id} has already ended: it cannot be cancelled`);
    if (isTerminalTaskState(r.state)) throw notCancelable();
    const tasks = this.tasks.tasks;
    let after: TaskRecord;
    try {
      after = await tasks.cancel(r.id);
    } catch (err) {
      throw err instanceof BusError && err.code === ErrorCodes.INVALID_REQUEST ? notCancelable() : err;
    }
    // A running task ends once its worker has seen the cancel: answer with it cancelled when that comes soon.
    if (!isTerminalTaskState(after.state)) after = await tasks.wait(r.id, { timeout: CANCEL_WAIT_MS }).catch(() => after);
    reply(res, id, { result: a2aTask(after, v) });
  }

  /**
   * SSE of one task for a streaming method: the Task as it is now, then a status or artifact update per frame,
   * until the task ends or waits for input (A2A streams close there). Each SSE `data:` is a JSON-RPC response.
   */
  private async streamTask(res: ServerResponse, id: RpcId, record: TaskRecord, v: A2aVersion, release: () => void): Promise<void> {
    try {
      await this.followTask(res, id, record, v);
    } finally {
      release();
    }
  }

  private async followTask(res: ServerResponse, id: RpcId, record: TaskRecord, v: A2aVersion): Promise<void> {
    const ch = this.gateway.openSse(res);
    ch.open({ 'x-task-id': record.id });
    const ac = new AbortController();
    ch.onClose(() => ac.abort());
    const send = (body: Record<string, unknown>) => ch.data(JSON.stringify({ jsonrpc: '2.0', id, ...body }));
    send({ result: taskEvent(a2aTask(record, v), v) });
    if (record.state === 'input-required' || record.state === 'auth-required') return ch.end();
    try {
      for await (const frame of this.tasks.tasks.follow(record.id, { afterSeq: record.seq, signal: ac.signal })) {
        if (ch.closed) break;
        const { events, final } = frameEvents(frame, v);
        for (const e of events) send({ result: e });
        if (final) break;
        if (ch.congested) await ch.drained();
      }
    } catch (err) {
      if (!ch.closed) send({ error: errorBody(rpcError(err)) });
    }
    ch.end();
  }

  private async findTask(req: GatewayRequest, taskId: unknown): Promise<TaskRecord> {
    if (typeof taskId !== 'string' || !taskId) throw new A2aRpcError(A2aErrorCodes.INVALID_PARAMS, 'params.id (the task id) is required');
    return this.tasks.find(req, taskId);
  }
}

function historyLength(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 ? v : undefined;
}

/** Any error → a JSON-RPC error: ours as they are, a missing task -32001, a rejected request -32602, the rest -32603. */
function rpcError(err: unknown): A2aRpcError {
  if (err instanceof A2aRpcError) return err;
  const { payload } = toGatewayError(err);
  if (payload.code === ErrorCodes.NO_HANDLER) return new A2aRpcError(A2aErrorCodes.TASK_NOT_FOUND, payload.message, payload);
  if (payload.code === ErrorCodes.INVALID_REQUEST) return new A2aRpcError(A2aErrorCodes.INVALID_PARAMS, payload.message, payload);
  return new A2aRpcError(A2aErrorCodes.INTERNAL_ERROR, payload.message, payload);
}

function errorBody(e: A2aRpcError): Record<string, unknown> {
  return e.data === undefined ? { code: e.code, message: e.message } : { code: e.code, message: e.message, data: e.data };
}

/** A JSON-RPC response (HTTP 200, errors included, as A2A's JSON-RPC binding does). */
function reply(res: ServerResponse, id: RpcId, r: { result: unknown } | { error: A2aRpcError }): void {
  const body = 'error' in r ? { jsonrpc: '2.0', id, error: errorBody(r.error) } : { jsonrpc: '2.0', id, result: r.result };
  const text = JSON.stringify(body);
  res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}
