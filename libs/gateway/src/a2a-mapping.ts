import { BridgeError } from '@openagentio/nestjs-bridges';
import type { Envelope, TaskArtifact, TaskRecord, TaskState } from '@openagentio/nestjs';

// Our tasks as A2A sees them (docs/tasks.md, "Gateway and A2A", has the field-by-field table). Two wire shapes:
// A2A 1.0 (what the official JavaScript SDK `@a2a-js/sdk` speaks by default: proto-JSON, `TASK_STATE_*`, `ROLE_*`, parts `{text}` /
// `{data}`, stream results `{task}` / `{statusUpdate}` / `{artifactUpdate}`) and A2A 0.3 (`kind` discriminators,
// lower-case states and roles, `final` on status updates), declared here so the bridges need no A2A package.

/** The gateway's `a2a` option: A2A JSON-RPC over its tasks at POST /v1/a2a. */
export interface GatewayA2aOptions {
  /** The task target an A2A message goes to unless its `metadata.target` names another; taskTargets must cover it. */
  target: string;
}

/** Which A2A wire shape a JSON-RPC method speaks: `SendMessage`… are 1.0, `message/send`… are 0.3. */
export type A2aVersion = '1.0' | '0.3';

/** A message part as we read it from either version. */
export type A2aInputPart =
  | { text: string }
  | { data: unknown }
  | { url: string; media_type?: string; filename?: string }
  | { raw: string; media_type?: string; filename?: string };

/** The id of the artifact that carries a completed task's result. */
export const RESULT_ARTIFACT_ID = 'acp.result';

/** An A2A error as JSON-RPC codes it (the SDK maps these codes to its error classes). */
export class A2aRpcError extends BridgeError<number> {
  constructor(
    code: number,
    message: string,
    readonly data?: unknown,
  ) {
    super(code, message);
    this.name = 'A2aRpcError';
  }
}

export const A2aErrorCodes = {
  PARSE_ERROR: -32700,
  INVALID_REQUEST: -32600,
  METHOD_NOT_FOUND: -32601,
  INVALID_PARAMS: -32602,
  INTERNAL_ERROR: -32603,
  TASK_NOT_FOUND: -32001,
  TASK_NOT_CANCELABLE: -32002,
  PUSH_NOTIFICATION_NOT_SUPPORTED: -32003,
  UNSUPPORTED_OPERATION: -32004,
  EXTENDED_CARD_NOT_CONFIGURED: -32007,
} as const;

const invalid = (message: string) => new A2aRpcError(A2aErrorCodes.INVALID_PARAMS, message);

/** Our state name → the wire's (1.0: `TASK_STATE_INPUT_REQUIRED`; 0.3: the same names as ours). */
export function a2aState(state: TaskState, v: A2aVersion): string {
  return v === '0.3' ? state : `TASK_STATE_${state.toUpperCase().replace(/-/g, '_')}`;
}

/** The content of an A2A message as we read it: its parts, ids and metadata. */
export interface A2aIncomingMessage {
  messageId: string;
  contextId?: string;
  taskId?: string;
  parts: A2aInputPart[];
  metadata?: Record<string, unknown>;
}

/** Reads a user message of either version; anything malformed is INVALID_PARAMS. */
export function readMessage(raw: unknown, v: A2aVersion): A2aIncomingMessage {
  if (!isObject(raw)) throw invalid('params.message must be an object');
  const role = raw.role;
  const isUser = v === '0.3' ? role === 'user' : role === 'ROLE_USER' || role === 1 || role === 'user';
  if (!isUser) throw invalid(`message.role must be ${v === '0.3' ? '"user"' : '"ROLE_USER"'}`);
  if (typeof raw.messageId !== 'string' || !raw.messageId) throw invalid('message.messageId is required');
  if (!Array.isArray(raw.parts) || raw.parts.length === 0) throw invalid('message.parts must be a non-empty array');
  const msg: A2aIncomingMessage = { messageId: raw.messageId, parts: raw.parts.map((p) => readPart(p, v)) };
  if (typeof raw.contextId === 'string' && raw.contextId) msg.contextId = raw.contextId;
  // A taskId that is not a string must not fall through to "no taskId", which would submit a new task.
  if (raw.taskId !== undefined && raw.taskId !== null && typeof raw.taskId !== 'string') throw invalid('message.taskId must be a string');
  if (typeof raw.taskId === 'string' && raw.taskId) msg.taskId = raw.taskId;
  if (isObject(raw.metadata)) msg.metadata = raw.metadata;
  return msg;
}

function readPart(p: unknown, v: A2aVersion): A2aInputPart {
  if (!isObject(p)) throw invalid('each message part must be an object');
  const fileInfo = (mediaType: unknown, filename: unknown) => ({
    ...(typeof mediaType === 'string' && mediaType ? { media_type: mediaType } : {}),
    ...(typeof filename === 'string' && filename ? { filename } : {}),
  });
  if (v === '0.3') {
    if (p.kind === 'text' && typeof p.text === 'string') return { text: p.text };
    if (p.kind === 'data' && 'data' in p) {
      // The SDK wraps a non-object value as {value} and flags it: unwrap it.
      const wrapped = isObject(p.metadata) && p.metadata.data_part_compat === true && isObject(p.data) && 'value' in p.data;
      return { data: wrapped ? (p.data as { value: unknown }).value : p.data };
    }
    if (p.kind === 'file' && isObject(p.file)) {
      const f = p.file;
      if (typeof f.uri === 'string') return { url: f.uri, ...fileInfo(f.mimeType, f.name) };
      if (typeof f.bytes === 'string') return { raw: f.bytes, ...fileInfo(f.mimeType, f.name) };
    }
    throw invalid(`unsupported message part ${JSON.stringify(p).slice(0, 100)}`);
  }
  if (typeof p.text === 'string') return { text: p.text };
  if ('data' in p) return { data: p.data };
  if (typeof p.url === 'string') return { url: p.url, ...fileInfo(p.mediaType, p.filename) };
  if (typeof p.raw === 'string') return { raw: p.raw, ...fileInfo(p.mediaType, p.filename) };
  throw invalid(`unsupported message part ${JSON.stringify(p).slice(0, 100)}`);
}

/**
 * A message's parts → a task input: one data part is its data as is (the handler's own input shape); text parts
 * only are `{text}` (joined by newlines); anything else is `{text, parts}` with every part.
 */
export function inputOf(parts: A2aInputPart[]): unknown {
  if (parts.length === 1 && 'data' in parts[0]) return parts[0].data;
  const texts = parts.filter((p): p is { text: string } => 'text' in p).map((p) => p.text);
  if (texts.length === parts.length) return { text: texts.join('\n') };
  return { text: texts.join('\n'), parts };
}

/**
 * A JSON value → A2A parts (task input, history, artifact data, result): a string is a text part, `{text}` alone
 * too, `{text, parts}` (a mixed message as inputOf made it) its parts again, anything else one data part.
 */
export function partsOf(value: unknown, v: A2aVersion): Record<string, unknown>[] {
  if (typeof value === 'string') return [textPart(value, v)];
  if (isObject(value) && typeof value.text === 'string') {
    const keys = Object.keys(value);
    if (keys.length === 1) return [textPart(value.text, v)];
    if (keys.length === 2 && Array.isArray(value.parts)) return (value.parts as A2aInputPart[]).map((p) => partOut(p, v));
  }
  return [dataPart(value, v)];
}

function partOut(p: A2aInputPart, v: A2aVersion): Record<string, unknown> {
  if ('text' in p) return textPart(p.text, v);
  if ('data' in p) return dataPart(p.data, v);
  const ref = 'url' in p ? { url: p.url } : { raw: p.raw };
  if (v === '0.3') {
    const file: Record<string, unknown> = 'url' in p ? { uri: p.url } : { bytes: p.raw };
    if (p.media_type) file.mimeType = p.media_type;
    if (p.filename) file.name = p.filename;
    return { kind: 'file', file };
  }
  return { ...ref, ...(p.media_type ? { mediaType: p.media_type } : {}), ...(p.filename ? { filename: p.filename } : {}) };
}

function textPart(text: string, v: A2aVersion): Record<string, unknown> {
  return v === '0.3' ? { kind: 'text', text } : { text };
}

function dataPart(data: unknown, v: A2aVersion): Record<string, unknown> {
  const value = data === undefined ? null : data;
  if (v === '1.0') return { data: value };
  // 0.3's DataPart holds an object: anything else is wrapped as the SDK does ({value}, flagged in metadata).
  if (isObject(value)) return { kind: 'data', data: value };
  return { kind: 'data', data: { value }, metadata: { data_part_compat: true } };
}

function message(
  v: A2aVersion,
  m: { messageId: string; role: 'user' | 'agent'; content: unknown; taskId: string; contextId: string },
): Record<string, unknown> {
  const out: Record<string, unknown> = {
    messageId: m.messageId,
    role: v === '0.3' ? m.role : m.role === 'user' ? 'ROLE_USER' : 'ROLE_AGENT',
    parts: partsOf(m.content, v),
    taskId: m.taskId,
    contextId: m.contextId,
  };
  return v === '0.3' ? { kind: 'message', ...out } : out;
}

function artifactOut(a: Pick<TaskArtifact, 'artifact_id' | 'name' | 'data'>, v: A2aVersion): Record<string, unknown> {
  return { artifactId: a.artifact_id, ...(a.name ? { name: a.name } : {}), parts: partsOf(a.data, v) };
}

/** The status message of a record: the error of a failed task, else its latest status message. */
function statusMessage(r: TaskRecord, v: A2aVersion): Record<string, unknown> | undefined {
  const text = r.error?.message ?? r.status_message;
  if (text === undefined) return undefined;
  return message(v, { messageId: `${r.id}:s${r.seq}`, role: 'agent', content: text, taskId: r.id, contextId: r.context_id ?? '' });
}

/**
 * A task record as an A2A Task. history: the input (as the first user message), then the record's history;
 * artifacts: the record's, then the result of a completed task (artifact `acp.result`); metadata.acp: the bus
 * target, seq, attempts and, for a failed task, its ErrorPayload.
 */
export function a2aTask(r: TaskRecord, v: A2aVersion, historyLength?: number): Record<string, unknown> {
  const contextId = r.context_id ?? '';
  let history = [
    message(v, { messageId: `${r.id}:input`, role: 'user', content: r.input, taskId: r.id, contextId }),
    ...r.history.map((m, i) => message(v, { messageId: `${r.id}:h${i}`, role: m.role, content: m.content, taskId: r.id, contextId })),
  ];
  if (historyLength !== undefined) history = historyLength <= 0 ? [] : history.slice(-historyLength);
  const artifacts = r.artifacts.map((a) => artifactOut(a, v));
  if (r.state === 'completed' && r.result !== undefined && r.result !== null) {
    artifacts.push(artifactOut({ artifact_id: RESULT_ARTIFACT_ID, name: 'result', data: r.result }, v));
  }
  const status: Record<string, unknown> = { state: a2aState(r.state, v), timestamp: r.updated_at };
  const sm = statusMessage(r, v);
  if (sm) status.message = sm;
  const acp: Record<string, unknown> = { target: r.target, seq: r.seq, attempts: r.attempts };
  if (r.error) acp.error = r.error;
  const task: Record<string, unknown> = { id: r.id, contextId, status, artifacts, history, metadata: { acp } };
  return v === '0.3' ? { kind: 'task', ...task } : task;
}

/** A stream result of a Task snapshot (1.0: `{task}`; 0.3: the Task itself). */
export function taskEvent(task: Record<string, unknown>, v: A2aVersion): Record<string, unknown> {
  return v === '0.3' ? task : { task };
}

const INTERRUPTED = new Set(['input-required', 'auth-required']);

/**
 * One task frame → the A2A stream results it makes (TaskStatusUpdateEvent, TaskArtifactUpdateEvent), and whether
 * the A2A stream ends with it (a terminal state, or one that waits for input: A2A streams close there).
 * `agent.task.created` makes none (streams open with a Task snapshot instead).
 */
export function frameEvents(frame: Envelope, v: A2aVersion): { events: Record<string, unknown>[]; final: boolean } {
  const taskId = frame.correlation_id ?? '';
  const contextId = frame.conversation_id ?? '';
  const p = (isObject(frame.payload) ? frame.payload : {}) as Record<string, unknown>;
  const metadata = { acp: { seq: frame.seq, event_type: frame.event_type } };
  const status = (state: string, msg?: Record<string, unknown>) => {
    const s: Record<string, unknown> = { state: a2aState(state as TaskState, v), timestamp: frame.occurred_at };
    if (msg) s.message = msg;
    return s;
  };
  const statusUpdate = (state: string, msg: Record<string, unknown> | undefined, final: boolean) => {
    const e = { taskId, contextId, status: status(state, msg), metadata };
    return v === '0.3' ? { kind: 'status-update', ...e, final } : { statusUpdate: e };
  };
  const artifactUpdate = (a: TaskArtifact) => {
    const e: Record<string, unknown> = { taskId, contextId, artifact: artifactOut(a, v), metadata };
    if (a.append) e.append = true;
    if (a.last_chunk) e.lastChunk = true;
    return v === '0.3' ? { kind: 'artifact-update', ...e } : { artifactUpdate: e };
  };
  const agentText = (text: unknown) =>
    typeof text === 'string'
      ? message(v, { messageId: `${taskId}:s${frame.seq}`, role: 'agent', content: text, taskId, contextId })
      : undefined;
  switch (frame.event_type) {
    case 'agent.task.status': {
      const state = String(p.state);
      const final = INTERRUPTED.has(state);
      return { events: [statusUpdate(state, agentText(p.message), final)], final };
    }
    case 'agent.task.artifact':
      return isObject(p.artifact)
        ? { events: [artifactUpdate(p.artifact as unknown as TaskArtifact)], final: false }
        : { events: [], final: false };
    case 'agent.task.message': {
      const m = isObject(p.message) ? p.message : {};
      const msg = message(v, {
        messageId: `${taskId}:m${frame.seq}`,
        role: m.role === 'agent' ? 'agent' : 'user',
        content: m.content,
        taskId,
        contextId,
      });
      return { events: [statusUpdate(String(p.state ?? 'submitted'), msg, false)], final: false };
    }
    case 'agent.task.completed': {
      const events: Record<string, unknown>[] = [];
      if (p.state === 'completed' && p.result !== undefined && p.result !== null) {
        events.push(artifactUpdate({ artifact_id: RESULT_ARTIFACT_ID, name: 'result', data: p.result, last_chunk: true }));
      }
      const error = isObject(p.error) ? p.error : undefined;
      events.push(statusUpdate(String(p.state), agentText(error?.message), true));
      return { events, final: true };
    }
    default:
      return { events: [], final: frame.is_final === true };
  }
}

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
