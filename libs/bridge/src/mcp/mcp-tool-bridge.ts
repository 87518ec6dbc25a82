// One MCP connection's lifecycle (connect, reconnect, hold) and the calls that run on it share that connection's
// state; the tool list (listing, screening, registration) is McpToolList, reading an answer is toolResultOf, and
// transport creation, call helpers, meta keys and types are in their own files.
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { CallToolResult, Tool } from '@modelcontextprotocol/sdk/types.js';
import { loadMcpSdk, mcpSdk } from './mcp-sdk.js';
import { argumentsOf, closeQuietly, isAuthError, metaFor, wantsDeltas, withTimeout } from './mcp-call-helpers.js';
import { createClientTransport } from './mcp-client-transport.js';
import type { McpProgress, McpToolBridgeStats, McpToolResult } from '../interfaces/mcp-tool-bridge.interface.js';
import { BusError, ErrorCodes, type HandlerContext } from '@openagentio/nestjs';
import {
  PermanentBridgeError,
  type Bridge,
  type BridgeContext,
  type BridgeDefinition,
  type BridgeFactory,
} from '../interfaces/bridge.interface.js';
import { parseMcpToolConfig, type McpToolBridgeConfig } from './mcp-config.js';
import { Redactor, toolTargetToken } from './mcp-names.js';
import { McpToolList } from './mcp-tool-list.js';
import { callErrorOf, toolResultOf, type McpCallResultHost } from './mcp-call-result.js';

export const MCP_TOOL_BRIDGE_TYPE = 'mcp_tool';

type BridgeState = 'stopped' | 'starting' | 'ready' | 'failed';

const CLIENT_INFO = { name: 'openagentio-nest', version: '0.1.0' };
const MAX_QUEUED_PROGRESS = 32;

/**
 * Bridge type `mcp_tool`: connects to one MCP server (stdio, Streamable HTTP or legacy SSE) and serves each of
 * its tools as the bus target `<target_prefix or bridge name>.<tool>` (see `toolTargetToken` for names that
 * are not a valid token).
 *
 * Every tool target is registered as a *stream* handler: a stream caller gets MCP progress notifications as
 * `delta` frames (`{data:{progress,total,message}}`) and the tool result in the `final` frame; an invoke caller
 * just gets the result. Arguments are the payload object (null means `{}`), validated against the tool's
 * inputSchema first. Session and trace context travel in the request `_meta` (`McpMetaKeys`); aborting the bus
 * call sends `notifications/cancelled`; the bus deadline is the MCP request timeout.
 *
 * When the server goes away (stdio child exits, HTTP session dropped, connection refused) the bridge calls
 * `ctx.reportFailure` so supervision restarts it; until a restart succeeds its targets answer AGENT_UNAVAILABLE
 * (retryable) at once, also after the `stop()` supervision sends first (see `stop`).
 *
 * @example
 * const bridge = new McpToolBridge('everything', { command: 'node', args: ['…/server-everything/dist/index.js', 'stdio'] });
 * await bridge.start({ bus, logger: bus.logger, reportFailure: (e) => console.error(e) });
 * await bus.invoke('everything.get-sum', { a: 2, b: 40 }); // { content: [...], text: 'The sum of 2 and 40 is 42.' }
 */
export class McpToolBridge implements Bridge {
  readonly type = MCP_TOOL_BRIDGE_TYPE;
  readonly config: McpToolBridgeConfig;
  readonly stats: McpToolBridgeStats = {
    calls: 0,
    failures: 0,
    cancellationsSent: 0,
    progressNotifications: 0,
    toolListRefreshes: 0,
    connects: 0,
    toolsSkipped: 0,
    oversizeAnswers: 0,
  };
  private readonly prefix: string;
  private readonly redactor: Redactor;
  private state: BridgeState = 'stopped';
  private ctx?: BridgeContext;
  private client?: Client;
  private transport?: Transport;
  /** The served tools; also what `toolResultOf` needs of the bridge. */
  private readonly list: McpToolList;
  private readonly callHost: McpCallResultHost;
  private refreshTimer?: NodeJS.Timeout;
  private refreshing?: Promise<void>;
  private refreshAgain = false;
  private lastError?: string;
  private generation = 0;
  /** After a reported failure: targets kept registered (answering AGENT_UNAVAILABLE) across stop/start. */
  private holding = false;
  private holdTimer?: NodeJS.Timeout;
  private permanentFailure = false;

  constructor(
    readonly name: string,
    config: Partial<McpToolBridgeConfig> | Record<string, unknown>,
  ) {
    this.config = parseMcpToolConfig(name, config);
    this.prefix = this.config.target_prefix ?? name;
    if (!/^[^\s.*>]+(\.[^\s.*>]+)*$/.test(this.prefix)) {
      throw new PermanentBridgeError(`bridge "${name}" (mcp_tool): the bridge name is not a valid target prefix; set config.target_prefix`);
    }
    this.redactor = Redactor.forConfig(this.config, this.config.max_error_chars);
    this.callHost = { name, config: this.config, stats: this.stats, redactor: this.redactor, endpointLabel: () => this.endpointLabel() };
    this.list = new McpToolList({
      ...this.callHost,
      context: () => this.ctx,
      targetOf: (toolName) => this.targetOf(toolName),
      serve: (target, payload, hctx) => this.serve(target, payload, hctx),
    });
  }

  /** Targets currently served, sorted. */
  get targets(): string[] {
    return [...this.list.entries.values()].map((t) => t.target).sort();
  }

  /** The MCP tools currently served, by target. */
  get toolsByTarget(): ReadonlyMap<string, Tool> {
    return new Map([...this.list.entries.values()].map((t) => [t.target, t.tool]));
  }

  /** Pid of the stdio child, while it runs. */
  get pid(): number | undefined {
    const t = this.transport;
    return t instanceof mcpSdk().StdioClientTransport ? (t.pid ?? undefined) : undefined;
  }

  get status(): BridgeState {
    return this.state;
  }

  /** The bus target of an MCP tool name under this bridge. */
  targetOf(toolName: string): string {
    return `${this.prefix}.${toolTargetToken(toolName)}`;
  }

  async start(ctx: BridgeContext): Promise<void> {
    if (this.state !== 'stopped') await this.stop();
    this.ctx = ctx;
    this.state = 'starting';
    this.permanentFailure = false;
    const generation = ++this.generation;
    const sdk = await loadMcpSdk('McpToolBridge');
    const client = new sdk.Client(CLIENT_INFO, { capabilities: this.config.roots ? { roots: { listChanged: true } } : {} });
    const transport = this.createTransport();
    this.client = client;
    this.transport = transport;
    this.instrument(transport);
    if (this.config.roots) {
      const roots = this.config.roots;
      client.setRequestHandler(sdk.types.ListRootsRequestSchema, async () => ({ roots: roots.map((r) => ({ ...r })) }));
    }
    client.setNotificationHandler(sdk.types.ToolListChangedNotificationSchema, async () => {
      if (generation === this.generation) this.scheduleRefresh();
    });
    client.onerror = (err) => {
      if (generation !== this.generation) return;
      const msg = err?.message ?? String(err);
      // Pitfall (REFERENCE §1.7.1): the last progress notification can race the result; harmless.
      if (msg.includes('unknown token')) return;
      this.ctx?.logger.debug?.(`mcp bridge "${this.name}": ${this.redactor.redact(msg)}`);
      if (msg.includes('Maximum reconnection attempts'))
        this.connectionLost(new Error(`MCP server ${this.endpointLabel()} unreachable: ${msg}`));
    };
    client.onclose = () => {
      if (generation !== this.generation) return;
      this.connectionLost(new Error(`MCP server ${this.endpointLabel()} closed the connection`));
    };
    try {
      // One deadline for connect, initialize and the first complete tools/list (every page).
      const deadline = Date.now() + this.config.connect_timeout_ms;
      const connectAndList = async () => {
        await client.connect(transport, { timeout: this.config.connect_timeout_ms });
        this.stats.connects++;
        await this.refreshTools(deadline);
      };
      await withTimeout(
        connectAndList(),
        this.config.connect_timeout_ms,
        `connecting to MCP server ${this.endpointLabel()} and listing its tools`,
      );
      if (generation !== this.generation) throw new Error(this.lastError ?? 'MCP connection lost during start');
    } catch (err) {
      const e = this.startError(err);
      this.lastError = e.message;
      this.generation++;
      this.state = 'stopped';
      // While supervision retries after a failure, the old targets keep answering AGENT_UNAVAILABLE.
      if (e instanceof PermanentBridgeError || !this.holding) this.releaseTargets();
      await closeQuietly(client);
      this.client = undefined;
      this.transport = undefined;
      throw e;
    }
    this.state = 'ready';
    this.endHold();
    ctx.logger.log(
      `mcp bridge "${this.name}": ${this.list.entries.size} tool target(s) from ${this.endpointLabel()} under "${this.prefix}."`,
    );
  }

  /**
   * Releases the connection and the targets. Exception: after a reported (non-permanent) failure the targets stay
   * registered, answering AGENT_UNAVAILABLE (retryable) at once, until the next successful `start` takes them
   * over or `config.unavailable_grace_ms` passes: supervision stops a failed bridge before its backoff, and callers
   * should see "unavailable, retry" during it rather than NO_HANDLER.
   */
  async stop(): Promise<void> {
    const hold = this.config.unavailable_grace_ms > 0 && ((this.state === 'failed' && !this.permanentFailure) || this.holding);
    this.generation++;
    this.state = 'stopped';
    if (this.refreshTimer) clearTimeout(this.refreshTimer);
    this.refreshTimer = undefined;
    if (hold) this.startHold();
    else this.releaseTargets();
    const client = this.client;
    this.client = undefined;
    this.transport = undefined;
    if (client) await closeQuietly(client);
  }

  describe(): Record<string, unknown> {
    return {
      transport: this.config.transport,
      endpoint: this.endpointLabel(),
      server: this.serverInfo(),
      skipped_tools: this.list.skipped,
      state: this.state,
      target_prefix: this.prefix,
      targets: this.targets,
      pid: this.pid,
      last_error: this.lastError,
      holding_targets: this.holding,
      stats: { ...this.stats },
    };
  }

  /** The server's name and version as it gave them (its words: cut to 200 characters each). */
  private serverInfo(): { name: string; version: string } | undefined {
    const v = this.client?.getServerVersion();
    if (!v) return undefined;
    const cut = (x: unknown) => (typeof x === 'string' ? (x.length > 200 ? `${x.slice(0, 200)}…` : x) : '');
    return { name: cut(v.name), version: cut(v.version) };
  }

  /** Re-lists the tools now (all pages, by `deadline` when given) and updates the registered targets. */
  refreshTools(deadline?: number): Promise<void> {
    if (this.refreshing) {
      this.refreshAgain = true;
      return this.refreshing;
    }
    const run = async () => {
      do {
        this.refreshAgain = false;
        const client = this.client;
        if (!client) return;
        const generation = this.generation;
        await this.list.sync(client, deadline ?? Date.now() + this.config.connect_timeout_ms, () => generation === this.generation);
      } while (this.refreshAgain);
    };
    this.refreshing = run().finally(() => {
      this.refreshing = undefined;
    });
    return this.refreshing;
  }

  // ------------------------------------------------------------------ connection

  private createTransport(): Transport {
    return createClientTransport(this.config, {
      onStderr: (text) => this.ctx?.logger.debug?.(`mcp bridge "${this.name}" stderr: ${this.redactor.redact(text)}`),
      onBackgroundLimit: (err) => {
        this.stats.oversizeAnswers++;
        if (this.config.transport === 'sse') {
          // Legacy SSE answers every call on that one stream: without it the connection is gone.
          this.connectionLost(new Error(`MCP server ${this.endpointLabel()}: ${err.message}; the connection was dropped`));
          return;
        }
        this.ctx?.logger.warn(
          `mcp bridge "${this.name}": ${err.message}: the server's background stream is closed until the next connect (tool calls go on; tools/list_changed is no longer heard)`,
        );
      },
    });
  }

  /** Counts outgoing cancellations (what tests and health details show). */
  private instrument(transport: Transport): void {
    const send = transport.send.bind(transport);
    transport.send = (message, options) => {
      if ((message as { method?: string }).method === 'notifications/cancelled') this.stats.cancellationsSent++;
      return send(message, options);
    };
  }

  private connectionLost(err: Error): void {
    if (this.state !== 'ready' && this.state !== 'starting') return;
    const wasReady = this.state === 'ready';
    this.state = 'failed';
    this.permanentFailure = err instanceof PermanentBridgeError;
    this.lastError = this.redactor.redact(err.message);
    const client = this.client;
    // Release the dead connection (timers, reconnect loops); targets stay registered and answer AGENT_UNAVAILABLE.
    this.generation++;
    if (client) void closeQuietly(client);
    if (!wasReady) return; // start() is still running: it fails and supervision retries
    this.ctx?.logger.warn(`mcp bridge "${this.name}": ${this.lastError}`);
    this.ctx?.reportFailure(err instanceof PermanentBridgeError ? err : new Error(this.lastError));
  }

  private startError(err: unknown): Error {
    if (err instanceof PermanentBridgeError) return err;
    const e = err as Error & { code?: unknown };
    const msg = this.redactor.redact(e?.message ?? String(err));
    if (isAuthError(err)) {
      return new PermanentBridgeError(`bridge "${this.name}": MCP server ${this.endpointLabel()} refused the credentials: ${msg}`, {
        cause: err,
      });
    }
    if (e?.code === 'ENOENT' || e?.code === 'EACCES') {
      return new PermanentBridgeError(`bridge "${this.name}": cannot run ${this.config.command}: ${msg}`, { cause: err });
    }
    return new Error(`bridge "${this.name}": ${msg}`, { cause: err });
  }

  private endpointLabel(): string {
    const c = this.config;
    if (c.transport === 'stdio') return `stdio:${c.command}${c.args?.length ? ` ${c.args.join(' ')}` : ''}`;
    try {
      const u = new URL(c.url!);
      u.username = '';
      u.password = '';
      u.search = '';
      return `${c.transport}:${u.toString()}`;
    } catch {
      return c.transport;
    }
  }

  // ------------------------------------------------------------------ tool list

  private scheduleRefresh(): void {
    if (this.refreshTimer) clearTimeout(this.refreshTimer);
    this.refreshTimer = setTimeout(() => {
      this.refreshTimer = undefined;
      this.refreshTools().catch((err) => {
        this.ctx?.logger.warn(`mcp bridge "${this.name}": tool list refresh failed: ${this.redactor.redact((err as Error).message)}`);
      });
    }, this.config.list_changed_debounce_ms);
    this.refreshTimer.unref?.();
  }

  private unregisterAll(): void {
    this.list.clear();
  }

  private startHold(): void {
    this.holding = true;
    if (this.holdTimer) return;
    this.holdTimer = setTimeout(() => {
      this.holdTimer = undefined;
      if (this.holding && this.state !== 'ready' && this.state !== 'starting') this.releaseTargets();
    }, this.config.unavailable_grace_ms);
    this.holdTimer.unref?.();
  }

  private endHold(): void {
    this.holding = false;
    if (this.holdTimer) clearTimeout(this.holdTimer);
    this.holdTimer = undefined;
  }

  private releaseTargets(): void {
    this.endHold();
    this.unregisterAll();
  }

  // ------------------------------------------------------------------ calls

  private serve(target: string, payload: unknown, hctx: HandlerContext): AsyncIterable<unknown> | Promise<McpToolResult> {
    const entry = this.list.entries.get(target);
    const client = this.client;
    if (!entry) throw new BusError(ErrorCodes.NO_HANDLER, `tool target "${target}" is no longer served by bridge "${this.name}"`);
    if (this.state !== 'ready' || !client) {
      throw new BusError(
        ErrorCodes.AGENT_UNAVAILABLE,
        `MCP server of bridge "${this.name}" is unavailable${this.lastError ? `: ${this.lastError}` : ''}`,
        {
          retryable: true,
        },
      );
    }
    const args = argumentsOf(payload, target);
    entry.validator?.check(args, `"${target}"`);
    this.stats.calls++;
    const toolName = entry.tool.name;
    const now = Date.now();
    const timeout = Math.max(1, Math.min(this.config.timeout_ms, hctx.deadline !== undefined ? hctx.deadline - now : Infinity));
    const request = { name: toolName, arguments: args, _meta: metaFor(hctx) };
    const signal = hctx.signal;
    const generation = this.generation;

    if (!wantsDeltas(hctx.envelope)) {
      return client.callTool(request, undefined, { signal, timeout }).then(
        (r) => toolResultOf(this.callHost, toolName, r as CallToolResult, entry.output),
        (err) => {
          throw this.callError(err, signal, toolName, generation);
        },
      );
    }

    // Stream caller: progress notifications become delta frames while the call runs.
    const queue: McpProgress[] = [];
    let wake: (() => void) | undefined;
    let outcome: { ok: true; value: CallToolResult } | { ok: false; error: unknown } | undefined;
    const onprogress = (p: { progress: number; total?: number; message?: string }) => {
      this.stats.progressNotifications++;
      const item: McpProgress = { progress: p.progress };
      if (p.total !== undefined) item.total = p.total;
      if (p.message !== undefined) item.message = p.message;
      // A consumer slower than the server: keep the newest progress, drop intermediate ones.
      if (queue.length >= MAX_QUEUED_PROGRESS) queue[queue.length - 1] = item;
      else queue.push(item);
      wake?.();
    };
    client.callTool(request, undefined, { signal, timeout, onprogress }).then(
      (value) => {
        outcome = { ok: true, value: value as CallToolResult };
        wake?.();
      },
      (error) => {
        outcome = { ok: false, error };
        wake?.();
      },
    );
    // An async generator function cannot be an arrow function, so it reaches the bridge through `self`.
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const self = this;
    return (async function* () {
      for (;;) {
        if (queue.length > 0) {
          yield { data: queue.shift() };
          continue;
        }
        if (outcome) break;
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
        wake = undefined;
      }
      const done = outcome!;
      if (!done.ok) throw self.callError(done.error, signal, toolName, generation);
      return toolResultOf(self.callHost, toolName, done.value, entry.output);
    })();
  }

  /** Maps a failed `tools/call` to a BusError; a lost connection also reports the failure to supervision. */
  private callError(err: unknown, signal: AbortSignal, toolName: string, generation: number): BusError {
    const current = generation === this.generation;
    const { error, lost } = callErrorOf(this.callHost, err, signal, toolName, current && this.state === 'ready');
    if (lost && current) this.connectionLost(lost);
    return error;
  }
}

/** `BridgeFactory` for type `mcp_tool`: `new McpToolBridge(definition.name, definition.config)`. */
// Upstream's examples put target_prefix under mappings (its BridgeMappings keeps unknown keys); config wins.
export const mcpToolBridgeFactory: BridgeFactory = (definition: BridgeDefinition) => {
  const config = definition.config ?? {};
  const fromMappings = definition.mappings?.target_prefix;
  return new McpToolBridge(
    definition.name,
    config.target_prefix === undefined && fromMappings !== undefined ? { ...config, target_prefix: fromMappings } : config,
  );
};
