import { randomUUID } from 'node:crypto';
import type { SessionInfo } from '../context/call-context.js';
import type { ChatMessage } from './chat-message.js';

/**
 * Where a handoff with the `{ store }` history policy puts the conversation, so the next agent receives a reference
 * instead of the messages (a large history, or one that must not travel in every request). Any shared storage fits
 * (a database, a NATS KV bucket); the next agent reads it with `get(ref)`.
 */
export interface ConversationStore {
  put(messages: ChatMessage[], session: Readonly<SessionInfo>): string | Promise<string>;
  get(ref: string): ChatMessage[] | undefined | Promise<ChatMessage[] | undefined>;
}

/**
 * A ConversationStore in this process's memory: for agents that share a process, and for tests. Keeps the newest
 * `maxEntries` conversations, each for `ttlMs`.
 */
export class MemoryConversationStore implements ConversationStore {
  private readonly entries = new Map<string, { messages: ChatMessage[]; expires: number }>();

  constructor(
    private readonly ttlMs = 30 * 60_000,
    private readonly maxEntries = 10_000,
  ) {}

  put(messages: ChatMessage[], session: Readonly<SessionInfo>): string {
    const ref = `conv_${session.session_id ? `${session.session_id}_` : ''}${randomUUID()}`;
    this.entries.set(ref, { messages: structuredClone(messages), expires: Date.now() + this.ttlMs });
    while (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
    return ref;
  }

  get(ref: string): ChatMessage[] | undefined {
    const e = this.entries.get(ref);
    if (!e) return undefined;
    if (e.expires <= Date.now()) {
      this.entries.delete(ref);
      return undefined;
    }
    return structuredClone(e.messages);
  }
}
