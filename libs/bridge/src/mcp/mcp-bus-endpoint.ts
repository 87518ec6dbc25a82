// The MCP server side's request handling and tool calls; the registry of calls in flight (cancellation, also
// across replicas) is McpCallRegistry, and session ids, tool results, auth and body reading have their own files.
import { randomUUID } from 'node:crypto';
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Readable, Writable } from 'node:stream';
import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
import type { CallToolResult, Tool } from '@modelcontextprotocol/sdk/types.js';
import { bearerTokenOf, tokenMatches } from '../http/bearer-token.js';
import { JsonBodyError, readJsonBody } from '../http/json-body.js';
import { loadMcpSdk, mcpSdk } from './mcp-sdk.js';
import { assertName, type BusClient, type BusLogger, type CallOptions, EventTypes } from '@openagentio/nestjs';
import { toBusError } from '@openagentio/nestjs/internal/errors/to-bus-error.js';
import { compileArgumentValidator, type ArgumentValidator } from './mcp-schema.js';
import { McpMetaKeys } from './mcp-meta-keys.js';
import { schemaFromDto } from './mcp-dto-schema.js';
import { newSessionId, validSessionId } from './mcp-session-ids.js';
import { errorResult, toCallToolResult } from './mcp-tool-result.js';
import { McpCallRegistry } from './mcp-call-registry.js';
import type { McpBusEndpointOptions, McpExposedTool, McpHttpListener } from '../interfaces/mcp-bus-endpoint-options.interface.js';

interface ToolBinding {
  spec: McpExposedTool;
  tool: Tool;
  validator?: ArgumentValidator;
}

/**
 * Exposes bus targets as an MCP server (bus → MCP), built on the SDK's low-level `Server` with raw JSON Schema
 * tools, over Streamable HTTP (`handle(req, res)` for node:http or express, or `listen(port)`) and stdio
 * (`serveStdio()`).
 *
 * Each tool call becomes a bus stream call on the tool's target (an invoke handler answers it with its final
 * frame) with the MCP session id as the bus `session_id` (and `_meta.traceparent` as trace context); when the
 * client sent a `progressToken`, every delta frame is sent as `notifications/progress`. `notifications/cancelled` aborts the bus
 * call; so does the HTTP client going away.
 *
 * Replicas: HTTP sessions keep no server state. Each POST is served by a fresh stateless SDK transport; the
 * session id is issued at `initialize` (HMAC-signed with `sessionSecret`, so any replica can verify it) and
 * read back from the `Mcp-Session-Id` header. A cancellation that reaches a replica without the call is
 * broadcast on the bus (`cancelEvent`) to the replica that has it. GET (a standalone SSE stream) answers 405,
 * which the protocol allows: the tool list is static, so there is nothing to push.
 *
 * @example
 * const endpoint = new McpBusEndpoint({ bus, tools: [{ target: 'math.add', inputSchema: { type: 'object', properties: { a: { type: 'number' }, b: { type: 'number' } }, required: ['a', 'b'] } }] });
 * await endpoint.start();
 * const http = await endpoint.listen(3100); // http://127.0.0.1:3100/mcp
 */
export class McpBusEndpoint {
  /** Counters: tool calls, cancellations matched here, broadcast to other replicas, and received from them. */
  readonly stats = { calls: 0, cancelledLocal: 0, cancelsBroadcast: 0, cancelledFromBroadcast: 0 };
  private readonly bus: BusClient;
  private readonly tools = new Map<string, ToolBinding>();
  private readonly logger: BusLogger;
  private readonly calls: McpCallRegistry;
  private readonly listeners = new Set<McpHttpListener>();
  private readonly stdioServers = new Set<Server>();

  constructor(readonly options: McpBusEndpointOptions) {
    this.bus = options.bus;
    this.logger = options.logger ?? options.bus.logger;
    const cancelEvent = options.cancelEvent === false ? undefined : (options.cancelEvent ?? 'mcp.endpoint.cancel');
    if (cancelEvent) assertName(cancelEvent, 'cancelEvent');
    this.calls = new McpCallRegistry(this.bus, this.logger, cancelEvent, this.stats);
    for (const spec of options.tools) {
      assertName(spec.target, 'exposed target');
      const name = spec.name ?? spec.target;
      if (this.tools.has(name)) throw new Error(`MCP tool "${name}" is exposed twice`);
      const inputSchema = (spec.inputSchema ?? (spec.dto ? schemaFromDto(spec.dto) : { type: 'object' })) as Tool['inputSchema'];
      const tool: Tool = { name, inputSchema };
      if (spec.title) tool.title = spec.title;
      if (spec.description) tool.description = spec.description;
      if (spec.outputSchema) tool.outputSchema = spec.outputSchema as Tool['outputSchema'];
      if (spec.annotations) tool.annotations = spec.annotations;
      const validator =
        options.validateArguments === false
          ? undefined
          : compileArgumentValidator(inputSchema, (err) =>
              this.logger.warn(`mcp endpoint: input schema of "${name}" does not compile: ${err.message}`),
            );
      this.tools.set(name, { spec, tool, validator });
    }
  }

  /** Subscribes to the cancellation broadcast of the replicas. Call once the bus is connected. */
  async start(): Promise<void> {
    await loadMcpSdk('McpBusEndpoint');
    this.calls.start();
  }

  /** Stops listeners and stdio servers, aborts calls in flight. */
  async close(): Promise<void> {
    this.calls.close();
    for (const l of [...this.listeners]) await l.close();
    for (const s of [...this.stdioServers]) await s.close().catch(() => undefined);
    this.stdioServers.clear();
  }

  /** The MCP tool list served. */
  get toolList(): Tool[] {
    return [...this.tools.values()].map((b) => b.tool);
  }

  /**
   * Builds an SDK `Server` whose tools call the bus, for one MCP session (the bus `session_id` of its calls).
   * Usable with any SDK server transport; `handle` and `serveStdio` use it.
   */
  createServer(sessionId: string | undefined): Server {
    const sdk = mcpSdk();
    const server = new sdk.Server(
      { name: this.options.name ?? 'openagentio-bus', version: this.options.version ?? '0.1.0' },
      { capabilities: { tools: { listChanged: false } }, instructions: this.options.instructions },
    );
    server.setRequestHandler(sdk.types.ListToolsRequestSchema, async () => ({ tools: this.toolList }));
    server.setRequestHandler(sdk.types.CallToolRequestSchema, (req, extra) => this.callTool(sessionId, req.params, extra));
    // Cancellations go through the endpoint's registry: the call may run under another Server instance
    // (another POST) or another replica.
    server.setNotificationHandler(sdk.types.CancelledNotificationSchema, async (n) => {
      const { requestId, reason } = n.params;
      if (requestId === undefined) return;
      this.calls.cancel(sessionId, requestId, reason ?? 'cancelled by the MCP client');
    });
    return server;
  }

  /**
   * Serves one HTTP request on the MCP endpoint (node:http or express; pass express's parsed body if any).
   * POST: JSON-RPC; GET: 405 (no standalone stream); DELETE: ends the session (aborts its calls).
   */
  async handle(req: IncomingMessage, res: ServerResponse, parsedBody?: unknown): Promise<void> {
    try {
      await loadMcpSdk('McpBusEndpoint');
      if (!(await this.authorized(req))) {
        res.writeHead(401, { 'content-type': 'application/json', 'www-authenticate': 'Bearer' });
        res.end(JSON.stringify({ jsonrpc: '2.0', error: { code: -32001, message: 'Unauthorized' }, id: null }));
        return;
      }
      const method = (req.method ?? 'GET').toUpperCase();
      if (method === 'GET') {
        res.writeHead(405, { allow: 'POST, DELETE', 'content-type': 'application/json' });
        res.end(
          JSON.stringify({
            jsonrpc: '2.0',
            error: { code: -32000, message: 'Method not allowed: this endpoint offers no standalone SSE stream' },
            id: null,
          }),
        );
        return;
      }
      const headerSession = headerValue(req, 'mcp-session-id');
      if (headerSession !== undefined && !this.validSession(headerSession)) {
        res.writeHead(404, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ jsonrpc: '2.0', error: { code: -32001, message: 'Session not found' }, id: null }));
        return;
      }
      if (method === 'DELETE') {
        if (headerSession) this.calls.cancelSession(headerSession);
        res.writeHead(200).end();
        return;
      }
      if (method !== 'POST') {
        res.writeHead(405, { allow: 'POST, DELETE' }).end();
        return;
      }
      let body = parsedBody;
      if (body === undefined) {
        try {
          body = await readJsonBody(req, this.options.maxBodyBytes ?? 4 * 1024 * 1024);
          if (body === undefined) throw new JsonBodyError('empty request body', 400);
        } catch (err) {
          const status = (err as { status?: number }).status ?? 400;
          // Over the limit the rest of the body is left unread: close the connection rather than drain it.
          res.writeHead(
            status,
            status === 413 ? { 'content-type': 'application/json', connection: 'close' } : { 'content-type': 'application/json' },
          );
          res.end(JSON.stringify({ jsonrpc: '2.0', error: { code: -32700, message: `Parse error: ${(err as Error).message}` }, id: null }));
          return;
        }
      }
      const messages = Array.isArray(body) ? body : [body];
      const initializing = messages.some((m) => m && typeof m === 'object' && (m as { method?: unknown }).method === 'initialize');
      let sessionId = headerSession;
      if (initializing) {
        sessionId = this.newSessionId();
        res.setHeader('mcp-session-id', sessionId);
      }
      const server = this.createServer(sessionId);
      const transport = new (mcpSdk().StreamableHTTPServerTransport)({ sessionIdGenerator: undefined });
      res.on('close', () => {
        void transport.close().catch(() => undefined);
        void server.close().catch(() => undefined);
      });
      await server.connect(transport);
      await transport.handleRequest(req, res, body);
    } catch (err) {
      this.logger.warn(`mcp endpoint: request failed: ${(err as Error).message}`);
      if (!res.headersSent) {
        res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ jsonrpc: '2.0', error: { code: -32603, message: 'Internal error' }, id: null }));
      }
    }
  }

  /** Starts a node:http server serving `handle` on `options.path` (default `/mcp`). */
  async listen(port = 0, host = '127.0.0.1'): Promise<McpHttpListener> {
    const path = this.options.path ?? '/mcp';
    const http = createHttpServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://localhost');
      if (url.pathname !== path) {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
        return;
      }
      void this.handle(req, res);
    });
    await new Promise<void>((resolve, reject) => {
      http.once('error', reject);
      http.listen(port, host, () => resolve());
    });
    const actual = (http.address() as { port: number }).port;
    const listener: McpHttpListener = {
      port: actual,
      url: `http://${host.includes(':') ? `[${host}]` : host}:${actual}${path}`,
      close: () =>
        new Promise<void>((resolve) => {
          this.listeners.delete(listener);
          http.close(() => resolve());
          http.closeAllConnections();
        }),
    };
    this.listeners.add(listener);
    return listener;
  }

  /**
   * Serves MCP over stdio (a bus-only process launched by an MCP client). One session per process; its id is
   * `sessionId` or a new UUID.
   */
  async serveStdio(options: { stdin?: Readable; stdout?: Writable; sessionId?: string } = {}): Promise<Server> {
    await loadMcpSdk('McpBusEndpoint');
    const server = this.createServer(options.sessionId ?? randomUUID());
    this.stdioServers.add(server);
    server.onclose = () => this.stdioServers.delete(server);
    await server.connect(new (mcpSdk().StdioServerTransport)(options.stdin, options.stdout));
    return server;
  }

  // ------------------------------------------------------------------ calls

  private async callTool(
    sessionId: string | undefined,
    params: { name: string; arguments?: Record<string, unknown>; _meta?: Record<string, unknown> },
    extra: {
      signal: AbortSignal;
      requestId: string | number;
      sendNotification: (n: {
        method: 'notifications/progress';
        params: { progressToken: string | number; progress: number; total?: number; message?: string };
      }) => Promise<void>;
    },
  ): Promise<CallToolResult> {
    const binding = this.tools.get(params.name);
    if (!binding) {
      // McpError puts "MCP error <code>: " before its message, and the client's McpError does it again on receipt:
      // the JSON-RPC error carries the bare text, so the client shows the prefix once.
      const text = `Tool ${params.name} not found`;
      throw Object.assign(new (mcpSdk().types.McpError)(mcpSdk().types.ErrorCode.InvalidParams, text), { message: text });
    }
    const args = params.arguments ?? {};
    if (binding.validator) {
      try {
        binding.validator.check(args, `tool "${params.name}"`);
      } catch (err) {
        return errorResult(toBusError(err));
      }
    }
    this.stats.calls++;
    const ac = new AbortController();
    const onAbort = () => ac.abort(extra.signal.reason);
    if (extra.signal.aborted) onAbort();
    else extra.signal.addEventListener('abort', onAbort, { once: true });
    const key = this.calls.track(sessionId, extra.requestId, ac);
    const meta = params._meta ?? {};
    const opts: CallOptions = {
      signal: ac.signal,
      timeout: binding.spec.timeoutMs ?? this.options.timeoutMs ?? 60_000,
    };
    if (sessionId) opts.session_id = sessionId;
    if (typeof meta[McpMetaKeys.TRACEPARENT] === 'string') opts.traceparent = meta[McpMetaKeys.TRACEPARENT] as string;
    if (typeof meta[McpMetaKeys.TRACESTATE] === 'string') opts.tracestate = meta[McpMetaKeys.TRACESTATE] as string;
    if (typeof meta[McpMetaKeys.BAGGAGE] === 'string') opts.baggage = meta[McpMetaKeys.BAGGAGE] as string;
    const progressToken = meta.progressToken as string | number | undefined;
    try {
      // Always a bus stream (an invoke handler answers it with its final frame alone): the stream consumer grants
      // flow-control credit, so a stream handler with many deltas cannot stall (see responder initialCredit).
      const call = this.bus.stream(binding.spec.target, args, opts);
      let n = 0;
      let last = 0;
      for await (const frame of call) {
        if (frame.event_type !== EventTypes.DELTA || progressToken === undefined) continue;
        n++;
        const p = frame.payload as { delta?: unknown; data?: { progress?: unknown; total?: unknown; message?: unknown } } | undefined;
        const data = p?.data && typeof p.data === 'object' ? p.data : undefined;
        let progress = typeof data?.progress === 'number' ? data.progress : n;
        if (progress <= last) progress = last + 1; // progress must increase
        last = progress;
        const note: { progressToken: string | number; progress: number; total?: number; message?: string } = { progressToken, progress };
        if (typeof data?.total === 'number') note.total = data.total;
        const message = typeof p?.delta === 'string' ? p.delta : typeof data?.message === 'string' ? data.message : undefined;
        if (message !== undefined) note.message = message;
        await extra.sendNotification({ method: 'notifications/progress', params: note }).catch(() => undefined);
      }
      const finalPayload = call.final?.payload as { result?: unknown } | undefined;
      const result = finalPayload && typeof finalPayload === 'object' && 'result' in finalPayload ? finalPayload.result : finalPayload;
      return toCallToolResult(result, binding.tool);
    } catch (err) {
      return errorResult(toBusError(err));
    } finally {
      extra.signal.removeEventListener('abort', onAbort);
      this.calls.release(key, ac);
    }
  }

  // ------------------------------------------------------------------ sessions and auth

  private newSessionId(): string {
    return newSessionId(this.options.sessionSecret);
  }

  private validSession(sessionId: string): boolean {
    return validSessionId(sessionId, this.options.sessionSecret);
  }

  private async authorized(req: IncomingMessage): Promise<boolean> {
    const token = this.options.token;
    if (token) {
      if (!tokenMatches(bearerTokenOf(req.headers.authorization), token)) return false;
    }
    if (this.options.authorize) return !!(await this.options.authorize(req));
    return true;
  }
}

function headerValue(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  if (Array.isArray(v)) return v[0];
  return v === undefined || v === '' ? undefined : v;
}
