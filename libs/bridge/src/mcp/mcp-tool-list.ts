import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { Tool } from '@modelcontextprotocol/sdk/types.js';
import { BusError, type BusClient, type BusSubscription, ErrorCodes, type HandlerContext } from '@openagentio/nestjs';
import type { BridgeContext } from '../interfaces/bridge.interface.js';
import type { McpToolBridgeStats } from '../interfaces/mcp-tool-bridge.interface.js';
import type { McpToolBridgeConfig } from './mcp-config.js';
import { McpLimitError } from './mcp-limit-error.js';
import { type Redactor, toolAllowed } from './mcp-names.js';
import { compileArgumentValidator, compileOutputValidator, type ArgumentValidator, type OutputValidator } from './mcp-schema.js';
import { mcpSdk } from './mcp-sdk.js';
import { MAX_TOOL_NAME_CHARS, screenTool } from './mcp-tool-screen.js';

/** One served tool: its bus target, compiled schemas and the bus registration. */
export interface McpToolEntry {
  tool: Tool;
  target: string;
  validator?: ArgumentValidator;
  output?: OutputValidator;
  schemaKey: string;
  sub: BusSubscription;
}

/** What the tool list needs of its bridge (the bridge owns the connection and serves the calls). */
export interface McpToolListHost {
  readonly name: string;
  readonly config: McpToolBridgeConfig;
  readonly stats: McpToolBridgeStats;
  readonly redactor: Redactor;
  context(): BridgeContext | undefined;
  targetOf(toolName: string): string;
  endpointLabel(): string;
  serve(target: string, payload: unknown, hctx: HandlerContext): AsyncIterable<unknown> | Promise<unknown>;
}

/** Skipped tools named in the log and in describe() per listing (the rest are counted). */
const MAX_SKIPPED_SHOWN = 20;

type Wanted = Map<string, { tool: Tool; schemaKey: string }>;
type Skipped = Array<{ name: string; reason: string }>;

/**
 * The tools an `mcp_tool` bridge serves: lists the server's tools page by page, screens each one (allow/deny
 * lists, limits, schemas, name clashes) and keeps one bus stream handler registered per served tool.
 */
export class McpToolList {
  /** Served tools by bus target. */
  readonly entries = new Map<string, McpToolEntry>();
  /** The first tools of the last listing that were not served, and why (shown by describe()). */
  skipped: Skipped = [];

  constructor(private readonly host: McpToolListHost) {}

  /**
   * Lists every page by `deadline`, keeping only the tools to serve: at most `max_tool_pages` pages (past it the
   * listing fails naming the limit; a repeated cursor ends it) and `max_tools` tools (the rest are skipped). Each
   * entry is checked on its own (screenTool): one the bridge cannot handle is skipped with a warning naming it.
   * `current` turns false once the connection the listing runs on is replaced; the listing then stops.
   */
  async sync(client: Client, deadline: number, current: () => boolean): Promise<void> {
    const h = this.host;
    const bus = h.context()?.bus;
    if (!bus) return;
    const c = h.config;
    const wanted: Wanted = new Map();
    const skipped: Skipped = [];
    const seenCursors = new Set<string>();
    let cursor: string | undefined;
    let pages = 0;
    do {
      if (++pages > c.max_tool_pages) {
        throw new McpLimitError('max_tool_pages', c.max_tool_pages, `the tool list of MCP server ${h.endpointLabel()}`);
      }
      const timeout = Math.max(1, deadline - Date.now());
      // Entries are checked one by one below, so the page itself is read leniently: one bad tool is not a bad page.
      const page = await client
        .request({ method: 'tools/list', params: cursor ? { cursor } : {} }, mcpSdk().types.PaginatedResultSchema, { timeout })
        .catch((err: unknown) => {
          if ((err as { code?: unknown })?.code !== mcpSdk().types.ErrorCode.RequestTimeout) throw err;
          throw new Error(
            `the tool list of MCP server ${h.endpointLabel()} was not complete within connect_timeout_ms (${c.connect_timeout_ms} ms), after ${pages} page(s)`,
          );
        });
      if (!current()) return;
      const entries = Array.isArray((page as { tools?: unknown }).tools) ? ((page as { tools: unknown[] }).tools as unknown[]) : [];
      for (let i = 0; i < entries.length; i++) {
        this.screen(entries[i], wanted, skipped);
        // A page can hold tens of thousands of entries: let other work run between slices of them.
        if (i % 256 === 255) await new Promise((r) => setImmediate(r));
      }
      if (!current()) return;
      cursor = page.nextCursor;
      if (cursor !== undefined) {
        if (seenCursors.has(cursor)) break; // a server that repeats a cursor would loop forever
        seenCursors.add(cursor);
      }
    } while (cursor);
    h.stats.toolListRefreshes++;
    h.stats.toolsSkipped = skipped.length;
    this.skipped = skipped.slice(0, MAX_SKIPPED_SHOWN);
    for (const s of skipped.slice(0, MAX_SKIPPED_SHOWN)) {
      h.context()?.logger.warn(`mcp bridge "${h.name}": tool "${s.name}" is not served: ${s.reason}`);
    }
    if (skipped.length > MAX_SKIPPED_SHOWN) {
      h.context()?.logger.warn(`mcp bridge "${h.name}": ${skipped.length - MAX_SKIPPED_SHOWN} more tools are not served`);
    }
    await this.register(bus, wanted, current);
  }

  /** Drops the targets no longer listed and registers (or updates) the listed ones. */
  private async register(bus: BusClient, wanted: Wanted, current: () => boolean): Promise<void> {
    const h = this.host;
    for (const [target, entry] of [...this.entries]) {
      if (!wanted.has(target)) {
        entry.sub.unsubscribe();
        this.entries.delete(target);
      }
    }
    let n = 0;
    for (const [target, { tool, schemaKey }] of wanted) {
      // Compiling a thousand schemas takes a while: let other work run between slices of them.
      if (++n % 64 === 0) {
        await new Promise((r) => setImmediate(r));
        if (!current()) return;
      }
      const existing = this.entries.get(target);
      if (existing) {
        existing.tool = tool;
        if (existing.schemaKey !== schemaKey) {
          existing.schemaKey = schemaKey;
          existing.validator = this.compile(tool);
          existing.output = this.compileOutput(tool);
        }
        continue;
      }
      let sub: BusSubscription;
      try {
        // What the tool says about itself is what discovery shows about the target (nats micro info, agent cards).
        sub = bus.handleStream(target, (payload: unknown, hctx) => h.serve(target, payload, hctx), {
          description: tool.description,
          tags: ['mcp', h.name],
          inputSchema: tool.inputSchema as Record<string, unknown> | undefined,
        });
      } catch (err) {
        // A closed bus is fatal for the whole bridge; a name clash only skips this tool.
        if (err instanceof BusError && err.code === ErrorCodes.TRANSPORT_FAILURE) throw err;
        h.context()?.logger.warn(`mcp bridge "${h.name}": cannot serve ${target}: ${(err as Error).message}`);
        continue;
      }
      this.entries.set(target, { tool, target, validator: this.compile(tool), output: this.compileOutput(tool), schemaKey, sub });
    }
  }

  /** Adds one listed entry to `wanted`, or to `skipped` with the reason (a limit, a schema, a name clash). */
  private screen(raw: unknown, wanted: Wanted, skipped: Skipped): void {
    const h = this.host;
    const name = (raw as { name?: unknown } | null)?.name;
    // A name too long to serve is reported by screenTool, without matching the lists against it.
    if (typeof name === 'string' && name.length <= MAX_TOOL_NAME_CHARS && !toolAllowed(name, h.config.allow_tools, h.config.deny_tools)) {
      return;
    }
    if (wanted.size >= h.config.max_tools) {
      // Past the limit a tool is only counted: none of it is checked or kept.
      const shown = typeof name === 'string' ? (name.length > 64 ? `${name.slice(0, 64)}…` : name) : '(no name)';
      skipped.push({ name: h.redactor.redact(shown), reason: `the server lists more than max_tools (${h.config.max_tools}) tools` });
      return;
    }
    const s = screenTool(raw, h.config);
    if (!s.ok) {
      skipped.push({ name: h.redactor.redact(s.name), reason: s.reason });
      return;
    }
    const tool = s.tool;
    if ((tool.execution as { taskSupport?: string } | undefined)?.taskSupport === 'required') {
      h.context()?.logger.debug?.(`mcp bridge "${h.name}": tool "${tool.name}" requires MCP tasks; not served`);
      return;
    }
    const target = h.targetOf(tool.name);
    if (wanted.has(target)) {
      skipped.push({ name: tool.name, reason: `"${wanted.get(target)!.tool.name}" maps to the same target ${target} (the first is kept)` });
      return;
    }
    wanted.set(target, { tool, schemaKey: s.schemaKey });
  }

  private compile(tool: Tool): ArgumentValidator | undefined {
    if (!this.host.config.validate_arguments) return undefined;
    return compileArgumentValidator(tool.inputSchema, (err) =>
      this.host
        .context()
        ?.logger.warn(
          `mcp bridge "${this.host.name}": input schema of "${tool.name}" does not compile (${err.message}); arguments go unchecked`,
        ),
    );
  }

  private compileOutput(tool: Tool): OutputValidator | undefined {
    if (!tool.outputSchema) return undefined;
    return compileOutputValidator(tool.outputSchema, (err) =>
      this.host
        .context()
        ?.logger.warn(
          `mcp bridge "${this.host.name}": output schema of "${tool.name}" does not compile (${err.message}); results go unchecked`,
        ),
    );
  }

  /** Unregisters every served target. */
  clear(): void {
    for (const entry of this.entries.values()) entry.sub.unsubscribe();
    this.entries.clear();
  }
}
