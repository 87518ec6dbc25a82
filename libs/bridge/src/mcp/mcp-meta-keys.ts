/** `_meta` keys the bridge sets on every `tools/call` request (besides `progressToken`, set by the SDK). */
export const McpMetaKeys = {
  SESSION_ID: 'openagentio/session_id',
  CONVERSATION_ID: 'openagentio/conversation_id',
  TENANT_ID: 'openagentio/tenant_id',
  USER_ID: 'openagentio/user_id',
  CHANNEL: 'openagentio/channel',
  CALLER: 'openagentio/caller',
  REQUEST_ID: 'openagentio/request_id',
  /** W3C trace context, under the names the OpenTelemetry MCP conventions use. */
  TRACEPARENT: 'traceparent',
  TRACESTATE: 'tracestate',
  BAGGAGE: 'baggage',
} as const;
