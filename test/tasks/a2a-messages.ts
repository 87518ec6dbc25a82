// What the A2A tests send through the official SDK client: messages of text and data parts, and a fetch that
// carries the gateway's bearer token (recording the JSON-RPC methods, for the tests that check which one was used).
import { randomUUID } from 'node:crypto';
import { type Message, type Part, Role } from '@a2a-js/sdk';

/** fetch with the gateway's bearer token, recording the JSON-RPC methods it sends in `methods`. */
export function authedFetch(token: string, methods: string[] = []): typeof fetch {
  return (input, init = {}) => {
    const headers = new Headers(init.headers);
    headers.set('authorization', `Bearer ${token}`);
    if (typeof init.body === 'string') methods.push((JSON.parse(init.body) as { method: string }).method);
    return fetch(input, { ...init, headers });
  };
}

export const text = (value: string): Part => ({ content: { $case: 'text', value }, metadata: undefined, filename: '', mediaType: '' });
export const data = (value: unknown): Part => ({ content: { $case: 'data', value }, metadata: undefined, filename: '', mediaType: '' });

/** A user's message of these parts, with a fresh id (and whatever `extra` sets: taskId, contextId…). */
export function userMessage(parts: Part[], extra: Partial<Message> = {}): Message {
  return {
    messageId: randomUUID(),
    contextId: '',
    taskId: '',
    role: Role.ROLE_USER,
    parts,
    metadata: undefined,
    extensions: [],
    referenceTaskIds: [],
    ...extra,
  };
}
