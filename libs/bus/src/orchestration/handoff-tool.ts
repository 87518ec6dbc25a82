/**
 * OpenAI-style handoff tools, shaped as the OpenAI Agents SDK offers handoffs to a model: one function tool
 * `transfer_to_<agent>` per agent the model may hand the conversation to, taking an optional `reason`. A model's
 * call of such a tool is a handoff, not a tool to run (the openclaw_chat_sse bridge acts on it).
 */
export interface HandoffToolDefinition {
  type: 'function';
  function: { name: string; description: string; parameters: Record<string, unknown> };
}

/** `transfer_to_<target>`, with what a function name may not hold (dots…) as `_`, at most 64 characters. */
export function handoffToolName(target: string): string {
  return `transfer_to_${target.replace(/[^A-Za-z0-9_-]/g, '_')}`.slice(0, 64);
}

/** The tool a model is offered for handing the conversation to `target`. */
export function handoffTool(target: string, description?: string, name = handoffToolName(target)): HandoffToolDefinition {
  return {
    type: 'function',
    function: {
      name,
      description: description ?? `Hand the conversation to the ${target} agent to handle the request.`,
      parameters: {
        type: 'object',
        properties: { reason: { type: 'string', description: 'Why the conversation goes to this agent.' } },
        additionalProperties: true,
      },
    },
  };
}

/** The tool result that records a handoff in a transcript (the SDK's transfer message). */
export function handoffToolResult(target: string): string {
  return JSON.stringify({ assistant: target });
}
