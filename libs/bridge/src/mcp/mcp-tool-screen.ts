import type { Tool } from '@modelcontextprotocol/sdk/types.js';
import { mcpSdk } from './mcp-sdk.js';
import { nestingDepth } from './mcp-limit-error.js';

/** Longest tool name served (a longer one is skipped); targets cut long names anyway (toolTargetToken). */
export const MAX_TOOL_NAME_CHARS = 1_024;
/** Longest tool description kept (shown in discovery); a longer one is cut with `…`. */
export const MAX_TOOL_DESCRIPTION_CHARS = 4_096;

export interface ToolScreenLimits {
  max_schema_depth: number;
  max_tool_bytes: number;
}

export type ScreenedTool = { ok: true; tool: Tool; schemaKey: string } | { ok: false; name: string; reason: string };

/**
 * Checks one entry of a `tools/list` answer on its own, so that an entry the bridge cannot handle costs only that
 * tool: a name that is not a string (or too long), a schema nested deeper than `max_schema_depth`, anything the MCP
 * Tool schema refuses, a definition larger than `max_tool_bytes`. Checked in that order, each bounded: depth before
 * anything recursive (JSON.stringify, zod, Ajv would run out of stack), size before anything is kept.
 */
export function screenTool(raw: unknown, limits: ToolScreenLimits): ScreenedTool {
  const entry = raw as { name?: unknown; description?: unknown; inputSchema?: unknown; outputSchema?: unknown } | null;
  const rawName = entry && typeof entry === 'object' ? entry.name : undefined;
  if (typeof rawName !== 'string' || rawName.length === 0) return { ok: false, name: '(no name)', reason: 'its name is not a string' };
  const name = rawName.length > 64 ? `${rawName.slice(0, 64)}…` : rawName;
  if (rawName.length > MAX_TOOL_NAME_CHARS) return { ok: false, name, reason: `its name is longer than ${MAX_TOOL_NAME_CHARS} characters` };
  for (const key of ['inputSchema', 'outputSchema'] as const) {
    const depth = nestingDepth(entry![key], limits.max_schema_depth);
    if (depth > limits.max_schema_depth) {
      return { ok: false, name, reason: `its ${key} nests deeper than max_schema_depth (${limits.max_schema_depth})` };
    }
  }
  const parsed = mcpSdk().types.ToolSchema.safeParse(raw);
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    const where = first ? first.path.map(String).join('.') || '(tool)' : '(tool)';
    return { ok: false, name, reason: `it is not a valid MCP tool (${where}: ${(first?.message ?? 'invalid').slice(0, 200)})` };
  }
  const tool = parsed.data as Tool;
  if (typeof tool.description === 'string' && tool.description.length > MAX_TOOL_DESCRIPTION_CHARS) {
    tool.description = `${tool.description.slice(0, MAX_TOOL_DESCRIPTION_CHARS)}…`;
  }
  // What the bridge keeps of a tool is bounded: max_tools × max_tool_bytes in all.
  const size = JSON.stringify(tool).length;
  if (size > limits.max_tool_bytes) {
    return { ok: false, name, reason: `its definition (${size} characters) is larger than max_tool_bytes (${limits.max_tool_bytes})` };
  }
  // Both schemas as one key: a change to either recompiles the tool's validators.
  const schemaKey = `${JSON.stringify(tool.inputSchema ?? {})}\n${tool.outputSchema ? JSON.stringify(tool.outputSchema) : ''}`;
  return { ok: true, tool, schemaKey };
}
