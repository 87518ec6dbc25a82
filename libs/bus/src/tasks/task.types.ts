import type { ErrorPayload } from '../protocol/envelope.js';

/**
 * A task's state, as in A2A's task lifecycle: `submitted → working → (input-required | auth-required)* →
 * completed | failed | canceled | rejected`.
 */
export type TaskState = 'submitted' | 'working' | 'input-required' | 'auth-required' | 'completed' | 'failed' | 'canceled' | 'rejected';

export const TERMINAL_TASK_STATES: ReadonlySet<TaskState> = new Set(['completed', 'failed', 'canceled', 'rejected']);

export function isTerminalTaskState(state: TaskState): boolean {
  return TERMINAL_TASK_STATES.has(state);
}

/** Event types of a task's frames (acp/1.0 envelopes whose correlation_id is the task id). */
export const TaskEventTypes = {
  /** Opens the log (seq 0): the task as submitted. Upstream reserves the name. */
  CREATED: 'agent.task.created',
  /** A state change, with an optional message. */
  STATUS: 'agent.task.status',
  /** An artifact, or a chunk of one (`append`, `last_chunk`). */
  ARTIFACT: 'agent.task.artifact',
  /** A message added to the history (more input for an input-required task). */
  MESSAGE: 'agent.task.message',
  /** Ends the log (`is_final`): the terminal state with the result or the error. Upstream reserves the name. */
  COMPLETED: 'agent.task.completed',
} as const;

/** One message of a task's history (A2A `Message`, reduced to what the bus carries). */
export interface TaskMessage {
  role: 'user' | 'agent';
  content: unknown;
  at: string;
}

/** An output of a task (A2A `Artifact`): `data` is any JSON; chunks of one artifact share its id. */
export interface TaskArtifact {
  artifact_id: string;
  name?: string;
  data: unknown;
  /** This chunk extends the artifact's data (strings are concatenated, lists extended) instead of replacing it. */
  append?: boolean;
  /** No more chunks of this artifact follow. */
  last_chunk?: boolean;
}

/** The stored task (A2A `Task`). */
export interface TaskRecord {
  id: string;
  target: string;
  state: TaskState;
  /** A2A `contextId`: the conversation the task belongs to. */
  context_id?: string;
  session_id?: string;
  tenant_id?: string;
  user_id?: string;
  channel?: string;
  traceparent?: string;
  input: unknown;
  result?: unknown;
  error?: ErrorPayload;
  /** The latest status message (what `input-required` asks, what `working` is doing). */
  status_message?: string;
  history: TaskMessage[];
  artifacts: TaskArtifact[];
  /** Runs so far (1 on the first). */
  attempts: number;
  /** Set by cancel while the task is running: the worker aborts it; a redelivered run cancels it. */
  cancel_requested?: boolean;
  /**
   * The run in progress: which queue delivery holds the task and until when. Another delivery of the task (a
   * replayed or forged queue message) is refused while the lease lives, so a handler never runs twice at once.
   */
  lease?: TaskLease;
  /**
   * Announce the task's end (docs/tasks.md, "Callbacks"): an `agent.task.completed` event on the bus, and a POST to
   * each webhook (delivered by a gateway). Absent: no announcement.
   */
  callback?: TaskCallback;
  /** The seq of the task's latest frame. */
  seq: number;
  created_at: string;
  updated_at: string;
}

/** How a task's end is announced: always the `agent.task.completed` event, and a POST to each webhook. */
export interface TaskCallback {
  webhooks?: TaskWebhook[];
}

/**
 * A webhook told when the task ends (an A2A push notification config): the gateway POSTs to `url` with the
 * `token` in `X-A2A-Notification-Token` and `authentication` as `Authorization: <scheme> <credentials>`.
 */
export interface TaskWebhook {
  /** Unique among the task's webhooks. */
  id: string;
  url: string;
  token?: string;
  authentication?: { scheme: string; credentials: string };
  /** The body's shape: `acp` (the `agent.task.completed` envelope; the default), `a2a-1.0` or `a2a-0.3` (the A2A Task). */
  format?: 'acp' | 'a2a-1.0' | 'a2a-0.3';
  /** When a POST to it was answered 2xx: it is not sent again. */
  delivered_at?: string;
  /** Why its delivery was given up (attempts used up, a URL no longer allowed). */
  failed?: string;
}

/** Who runs a `working` task: the queue delivery that started the run, and when the lease ends. */
export interface TaskLease {
  delivery: string;
  until: string;
}

/** What a task id may be (ours are UUIDv7s); a queue message or URL naming anything else names no task. */
export const TASK_ID_PATTERN = /^[A-Za-z0-9_-]{1,128}$/;

export function isTaskId(id: unknown): id is string {
  return typeof id === 'string' && TASK_ID_PATTERN.test(id);
}

/** An identifier for an error message: at most 128 characters, then `…`. */
export function clip(id: string, max = 128): string {
  return id.length > max ? `${id.slice(0, max)}…` : id;
}

/** What `list` filters on; results are newest first, `limit` per page, `cursor` from the previous page. */
export interface TaskListQuery {
  context_id?: string;
  state?: TaskState;
  target?: string;
  /** One tenant's tasks (`null`: the tasks without a tenant; omitted: every tenant's). */
  tenant_id?: string | null;
  limit?: number;
  cursor?: string;
}

export interface TaskPage {
  tasks: TaskRecord[];
  next_cursor?: string;
}
