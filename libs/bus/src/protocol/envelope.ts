/** The acp/1.0 wire envelope (docs/protocol.md §1). Every message on every transport is one of these. */
export interface Envelope<P = unknown> {
  spec_version: string;
  schema_version: number;
  event_id: string;
  event_type: string;
  frame_type?: string;
  occurred_at: string;
  trace_id?: string;
  span_id?: string;
  traceparent?: string;
  session_id?: string;
  conversation_id?: string;
  correlation_id?: string;
  reply_to?: string;
  from?: string;
  to?: string;
  channel?: string;
  tenant_id?: string;
  user_id?: string;
  seq?: number;
  is_final?: boolean;
  payload?: P;
  metadata?: Record<string, unknown>;
}

export const SPEC_VERSION = 'acp/1.0';
export const SCHEMA_VERSION = 1;

export const EventTypes = {
  REQUEST: 'agent.message.received',
  STARTED: 'agent.response.started',
  DELTA: 'agent.response.delta',
  FINAL: 'agent.response.final',
  ERROR: 'agent.response.error',
  TOOL_CALL: 'agent.tool.call',
  TOOL_RESULT: 'agent.tool.result',
  TASK_CREATED: 'agent.task.created',
  TASK_COMPLETED: 'agent.task.completed',
} as const;

/** Canonical frame_type for each known event_type; a known event_type always wins over a contradicting frame_type. */
export const FRAME_TYPE_OF: Readonly<Record<string, string>> = {
  [EventTypes.REQUEST]: 'request',
  [EventTypes.STARTED]: 'response.started',
  [EventTypes.DELTA]: 'response.delta',
  [EventTypes.FINAL]: 'response.final',
  [EventTypes.ERROR]: 'response.error',
  [EventTypes.TOOL_CALL]: 'tool.call',
  [EventTypes.TOOL_RESULT]: 'tool.result',
};

const TERMINAL = new Set<string>([EventTypes.FINAL, EventTypes.ERROR, EventTypes.TOOL_RESULT, EventTypes.TASK_COMPLETED]);

export function isTerminalEventType(eventType: string): boolean {
  return TERMINAL.has(eventType);
}

/** Session fields that travel with every call and are copied onto replies. */
export const SESSION_FIELDS = ['session_id', 'conversation_id', 'tenant_id', 'user_id', 'channel'] as const;
export type SessionField = (typeof SESSION_FIELDS)[number];

/** Fields a reply copies from its request (docs/protocol.md §1). */
export const REPLY_COPIED_FIELDS = [...SESSION_FIELDS, 'trace_id', 'span_id', 'traceparent'] as const;

/** Payload of an `agent.response.error` frame. */
export interface ErrorPayload {
  code: string;
  message: string;
  retryable: boolean;
  cause?: Record<string, unknown>;
}
