import { ModuleRef } from '@nestjs/core';
import { ErrorCodes, TaskClient, type TaskRecord, type TaskState } from '@openagentio/nestjs';
import { GatewayHttpError } from '../gateway-errors.js';
import type { GatewayIdentity } from '../gateway.options.js';

const STATES: ReadonlySet<string> = new Set([
  'submitted',
  'working',
  'input-required',
  'auth-required',
  'completed',
  'failed',
  'canceled',
  'rejected',
]);

/** A task as the board shows it: what it is, how far it got, not its input or whole history. */
export interface BoardTask {
  id: string;
  target: string;
  state: TaskState;
  attempts: number;
  session_id?: string;
  status_message?: string;
  cancel_requested?: boolean;
  /** Frames so far (the task's seq) and the length of its artifacts' data: progress while it runs. */
  seq: number;
  artifact_chars: number;
  error?: string;
  created_at: string;
  updated_at: string;
}

/** The task board's reads and its cancel, over the application's TaskClient (TasksModule), a tenant's own only. */
export class ConsoleTasks {
  private client?: TaskClient;

  constructor(private readonly moduleRef: ModuleRef) {}

  async list(query: { state?: unknown; target?: unknown; limit?: unknown }, who: GatewayIdentity | null | undefined): Promise<BoardTask[]> {
    const state = typeof query.state === 'string' && query.state ? query.state : undefined;
    if (state !== undefined && !STATES.has(state))
      throw new GatewayHttpError(ErrorCodes.INVALID_REQUEST, `unknown task state "${state.slice(0, 40)}"`, 400);
    const target = typeof query.target === 'string' && query.target ? query.target.slice(0, 256) : undefined;
    const limit = Math.min(200, Math.max(1, Number(query.limit) || 50));
    const page = await this.tasks().list({
      ...(state ? { state: state as TaskState } : {}),
      ...(target ? { target } : {}),
      ...(who?.tenant_id ? { tenant_id: who.tenant_id } : {}),
      limit,
    });
    return page.tasks.map(boardTask);
  }

  async cancel(id: string, who: GatewayIdentity | null | undefined): Promise<BoardTask> {
    const t = await this.tasks().get(id);
    if (!t || (who?.tenant_id && t.tenant_id !== who.tenant_id)) throw new GatewayHttpError(ErrorCodes.NO_HANDLER, 'no such task', 404);
    return boardTask(await this.tasks().cancel(id));
  }

  private tasks(): TaskClient {
    if (!this.client) {
      try {
        this.client = this.moduleRef.get(TaskClient, { strict: false });
      } catch {
        throw new GatewayHttpError(ErrorCodes.NO_HANDLER, 'async tasks are not enabled: import TasksModule in the application', 404);
      }
    }
    return this.client;
  }
}

function boardTask(t: TaskRecord): BoardTask {
  let chars = 0;
  for (const a of t.artifacts) chars += typeof a.data === 'string' ? a.data.length : JSON.stringify(a.data ?? null).length;
  return {
    id: t.id,
    target: t.target,
    state: t.state,
    attempts: t.attempts,
    ...(t.session_id ? { session_id: t.session_id } : {}),
    ...(t.status_message ? { status_message: t.status_message } : {}),
    ...(t.cancel_requested ? { cancel_requested: true } : {}),
    seq: t.seq,
    artifact_chars: chars,
    ...(t.error ? { error: `${t.error.code}: ${t.error.message}` } : {}),
    created_at: t.created_at,
    updated_at: t.updated_at,
  };
}
