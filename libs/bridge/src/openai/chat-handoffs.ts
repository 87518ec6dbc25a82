import { handoffTool, removeToolMessages, type HandoffToolDefinition, type HistoryPolicy } from '@openagentio/nestjs';
import { handoffToolName } from '@openagentio/nestjs/internal/orchestration/handoff-tool.js';
import { BridgeConfigError } from '../config/bridge-config.js';

/** One agent a model may hand the conversation to, as `config.handoffs` lists it. */
export interface ChatHandoffTarget {
  /** The bus target the conversation goes to. */
  target: string;
  /** The tool the model calls for it. Default `transfer_to_<target>` (dots become `_`). */
  tool?: string;
  /** What the model is told about it. */
  description?: string;
}

/** What of the conversation the agent handed to gets (`config.handoff_history`). */
export type ChatHandoffHistory = 'remove_tools' | 'all' | 'nested' | 'none';

const HISTORY: Record<ChatHandoffHistory, HistoryPolicy> = {
  remove_tools: { filter: removeToolMessages },
  all: 'all',
  nested: 'nested',
  none: 'none',
};

/**
 * The handoffs an `openclaw_chat_sse` bridge offers its model, by tool name: read from `config.handoffs` (target names,
 * or `{target, tool, description}` maps) and `config.handoff_history`.
 */
export class ChatHandoffs {
  readonly byTool: ReadonlyMap<string, ChatHandoffTarget & { tool: string }>;
  readonly history: HistoryPolicy;
  readonly historyName: ChatHandoffHistory;

  constructor(bridge: string, raw: unknown, history: unknown) {
    const fail = (key: string, what: string): never => {
      throw new BridgeConfigError(`bridge "${bridge}" (openclaw_chat_sse): config.${key} ${what}`, key);
    };
    const list = raw === undefined || raw === null ? [] : Array.isArray(raw) ? raw : fail('handoffs', 'must be a list of targets');
    const byTool = new Map<string, ChatHandoffTarget & { tool: string }>();
    list.forEach((item: unknown, i: number) => {
      const entry: ChatHandoffTarget =
        typeof item === 'string'
          ? { target: item }
          : item && typeof item === 'object' && typeof (item as ChatHandoffTarget).target === 'string'
            ? (item as ChatHandoffTarget)
            : fail(`handoffs[${i}]`, 'must be a target name or {target, tool?, description?}');
      const tool = entry.tool ?? handoffToolName(entry.target);
      if (!/^[A-Za-z0-9_-]{1,64}$/.test(tool)) fail(`handoffs[${i}].tool`, `"${tool}" is not a function name (letters, digits, _ and -)`);
      if (byTool.has(tool)) fail(`handoffs[${i}].tool`, `"${tool}" is offered twice`);
      byTool.set(tool, { ...entry, tool });
    });
    this.byTool = byTool;
    const h = history ?? 'remove_tools';
    if (typeof h !== 'string' || !(h in HISTORY)) fail('handoff_history', `must be one of ${Object.keys(HISTORY).join(', ')}`);
    this.historyName = h as ChatHandoffHistory;
    this.history = HISTORY[this.historyName];
  }

  get size(): number {
    return this.byTool.size;
  }

  /** The tools offered to the model, one per handoff. */
  tools(): HandoffToolDefinition[] {
    return [...this.byTool.values()].map((h) => handoffTool(h.target, h.description, h.tool));
  }
}

/** A handoff tool call as it builds up from a model's tool-call deltas. */
export interface PendingHandoffCall {
  target: string;
  tool: string;
  id?: string;
  arguments: string;
}

/**
 * Takes the deltas of handoff tool calls out of a chunk's `tool_calls` (they are not for the caller to run: the bridge
 * hands off instead), assembling them in `calls` by index; returns the other tool-call deltas, to pass on.
 */
export function takeHandoffCalls(handoffs: ChatHandoffs, deltas: unknown[], calls: Map<number, PendingHandoffCall>): unknown[] {
  const rest: unknown[] = [];
  for (const d of deltas) {
    const tc = d as { index?: number; id?: string; function?: { name?: string; arguments?: string } };
    const index = typeof tc.index === 'number' ? tc.index : 0;
    const name = tc.function?.name;
    const h = name ? handoffs.byTool.get(name) : undefined;
    if (h) calls.set(index, { target: h.target, tool: h.tool, id: tc.id, arguments: tc.function?.arguments ?? '' });
    else if (!name && calls.has(index)) calls.get(index)!.arguments += tc.function?.arguments ?? '';
    else rest.push(d);
  }
  return rest;
}
