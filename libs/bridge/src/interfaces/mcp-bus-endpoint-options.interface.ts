import type { IncomingMessage } from 'node:http';
import type { Tool } from '@modelcontextprotocol/sdk/types.js';
import type { BusClient, BusLogger } from '@openagentio/nestjs';

/** One bus invoke/stream target exposed as an MCP tool. */
export interface McpExposedTool {
  /** The bus target called. */
  target: string;
  /** MCP tool name; default: the target (dots are allowed in MCP tool names). */
  name?: string;
  title?: string;
  description?: string;
  /** JSON Schema of the arguments (an object schema). Default: `dto`'s schema, else `{ "type": "object" }`. */
  inputSchema?: Record<string, unknown>;
  /** A class-validator DTO class to derive `inputSchema` from (best effort: common decorators only). */
  dto?: abstract new (...args: never[]) => unknown;
  /** JSON Schema of `structuredContent`; a non-object result is then wrapped as `{ result }`. */
  outputSchema?: Record<string, unknown>;
  annotations?: Tool['annotations'];
  /** Bus call timeout (ms). Default: the endpoint's `timeoutMs`. */
  timeoutMs?: number;
}

export interface McpBusEndpointOptions {
  /** The connected bus the tools are called through. */
  bus: BusClient;
  tools: McpExposedTool[];
  /** serverInfo of the MCP server. Default `openagentio-bus` / `0.1.0`. */
  name?: string;
  version?: string;
  instructions?: string;
  /** Default bus call timeout (ms). Default 60 000. */
  timeoutMs?: number;
  /** Check arguments against the input schema before calling (default true). */
  validateArguments?: boolean;
  /**
   * HMAC key for session ids. With it, a session id is `<uuid>.<signature>` and every replica sharing the key
   * accepts the sessions any replica issued, and rejects forged ones with 404. Without it any session id is
   * accepted (sessions carry no server state either way).
   */
  sessionSecret?: string;
  /** Bearer token HTTP callers must send (`Authorization: Bearer <token>`); else 401. */
  token?: string;
  /** Custom HTTP authorization; false → 401. Runs after the token check. */
  authorize?: (req: IncomingMessage) => boolean | Promise<boolean>;
  /**
   * Bus event type on which replicas broadcast MCP cancellations they cannot match locally (the cancel can
   * reach another replica than the call). Default `mcp.endpoint.cancel`; false disables.
   */
  cancelEvent?: string | false;
  /** Path `listen()` serves. Default `/mcp`. */
  path?: string;
  /** Maximum HTTP request body (bytes). Default 4 MiB. */
  maxBodyBytes?: number;
  logger?: BusLogger;
}

/** A running HTTP listener made by `listen()`. */
export interface McpHttpListener {
  readonly port: number;
  readonly url: string;
  close(): Promise<void>;
}
