/**
 * One message of a conversation, in the OpenAI chat shape the bridges and the OpenAI-compatible endpoint use
 * (`{role, content}`, plus `tool_calls` on assistant messages and `tool_call_id` on tool results).
 */
export interface ChatMessage {
  role: 'system' | 'developer' | 'user' | 'assistant' | 'tool' | 'function' | (string & {});
  content?: unknown;
  name?: string;
  tool_calls?: unknown[];
  tool_call_id?: string;
  [key: string]: unknown;
}

/** The messages of a payload that carries a conversation (`{messages: [...]}`), else undefined. */
export function messagesOf(payload: unknown): ChatMessage[] | undefined {
  const m = payload && typeof payload === 'object' && !Array.isArray(payload) ? (payload as { messages?: unknown }).messages : undefined;
  return Array.isArray(m) ? (m.filter((x) => x && typeof x === 'object' && !Array.isArray(x)) as ChatMessage[]) : undefined;
}
