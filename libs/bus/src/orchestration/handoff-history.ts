import type { SessionInfo } from '../context/call-context.js';
import type { ChatMessage } from './chat-message.js';
import type { ConversationStore } from './conversation-store.js';
import type { HandoffHistory } from './handoff-info.js';

/**
 * What the next agent gets of the conversation (as the OpenAI Agents SDK's handoff input filters and nested history):
 * - `'all'` (default): every message, in `payload.messages`;
 * - `'none'`: no messages;
 * - `'nested'`: one assistant message that summarises the transcript in a `<CONVERSATION HISTORY>` block;
 * - `{ filter }`: what the function returns from the messages (e.g. `removeToolMessages`, or `(m) => m.slice(-4)`);
 * - `{ reference }`: no messages, a reference to a conversation stored elsewhere (`history.ref`);
 * - `{ store }`: the messages are put into the store and the next agent gets their reference.
 */
export type HistoryPolicy =
  'all' | 'none' | 'nested' | { filter: (messages: ChatMessage[]) => ChatMessage[] } | { reference: string } | { store: ConversationStore };

/**
 * Leaves out tool calls and tool results (the SDK's `remove_all_tools`): tool and function messages, and assistant
 * messages that only called tools; an assistant message with text keeps its text without its `tool_calls`.
 */
export function removeToolMessages(messages: ChatMessage[]): ChatMessage[] {
  const out: ChatMessage[] = [];
  for (const m of messages) {
    if (m.role === 'tool' || m.role === 'function') continue;
    if (m.role === 'assistant' && Array.isArray(m.tool_calls) && m.tool_calls.length > 0) {
      if (!hasText(m.content)) continue;
      // eslint-disable-next-line @typescript-eslint/no-unused-vars
      const { tool_calls, ...rest } = m;
      out.push(rest as ChatMessage);
      continue;
    }
    out.push(m);
  }
  return out;
}

/** The transcript as one assistant message (the SDK's nested handoff history). */
export function nestHistory(messages: ChatMessage[]): ChatMessage {
  const lines = messages.map((m, i) => `${i + 1}. ${m.role}${m.name ? ` (${m.name})` : ''}: ${textOf(m)}`);
  return {
    role: 'assistant',
    content: `For context, here is the conversation so far:\n<CONVERSATION HISTORY>\n${lines.join('\n')}\n</CONVERSATION HISTORY>`,
  };
}

/** Applies a history policy: the messages to send (if any) and what the next agent is told about them. */
export async function applyHistory(
  policy: HistoryPolicy,
  messages: ChatMessage[] | undefined,
  session: Readonly<SessionInfo>,
): Promise<{ messages?: ChatMessage[]; history: HandoffHistory }> {
  const all = messages ?? [];
  if (policy === 'all') return { messages: all, history: { policy: 'all', count: all.length } };
  if (policy === 'none') return { history: { policy: 'none', count: 0 } };
  if (policy === 'nested') {
    const nested = all.length > 0 ? [nestHistory(all)] : [];
    return { messages: nested, history: { policy: 'nested', count: nested.length } };
  }
  if ('filter' in policy) {
    const kept = policy.filter(all.slice());
    return { messages: kept, history: { policy: 'filtered', count: kept.length } };
  }
  if ('reference' in policy) return { history: { policy: 'reference', ref: policy.reference } };
  const ref = await policy.store.put(all, session);
  return { history: { policy: 'reference', ref, count: all.length } };
}

function hasText(content: unknown): boolean {
  return (typeof content === 'string' && content.length > 0) || (Array.isArray(content) && content.length > 0);
}

function textOf(m: ChatMessage): string {
  const c = m.content;
  let text = typeof c === 'string' ? c : Array.isArray(c) ? c.map((p) => (p as { text?: unknown })?.text ?? '').join('') : '';
  if (Array.isArray(m.tool_calls) && m.tool_calls.length > 0) {
    const calls = m.tool_calls.map((t) => {
      const f = (t as { function?: { name?: string; arguments?: string } }).function;
      return `${f?.name ?? 'tool'}(${f?.arguments ?? ''})`;
    });
    text += `${text ? ' ' : ''}[called ${calls.join(', ')}]`;
  }
  return text;
}
