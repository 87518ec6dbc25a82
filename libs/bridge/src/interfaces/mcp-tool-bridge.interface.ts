import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';

/** What a tool target answers (the `result` of the final frame). */
export interface McpToolResult {
  content: CallToolResult['content'];
  structuredContent?: Record<string, unknown>;
  _meta?: Record<string, unknown>;
  /** The text of the only content item, when the result is exactly one text item. */
  text?: string;
}

/** A progress notification as a `delta` frame: `{ data: McpProgress }`. */
export interface McpProgress {
  progress: number;
  total?: number;
  message?: string;
}

export interface McpToolBridgeStats {
  calls: number;
  failures: number;
  cancellationsSent: number;
  progressNotifications: number;
  toolListRefreshes: number;
  connects: number;
  /** Tools of the last listing not served because of a limit or a schema the bridge cannot handle. */
  toolsSkipped: number;
  /** Answers refused for going past `max_message_bytes` / `max_background_event_bytes`. */
  oversizeAnswers: number;
}
