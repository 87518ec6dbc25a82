import { PermanentBridgeError } from '../interfaces/bridge.interface.js';

/** How the bridge reaches the MCP server. */
export type McpTransportKind = 'stdio' | 'streamable_http' | 'sse';

/** A root the bridge declares to the server (MCP `roots` capability). */
export interface McpRoot {
  uri: string;
  name?: string;
}

/**
 * Configuration of an `mcp_tool` bridge, as written in a bridge document (snake_case, docs/protocol.md §6).
 *
 * @example
 * bridges:
 *   - name: fs
 *     type: mcp_tool
 *     config:
 *       transport: stdio
 *       command: node
 *       args: [node_modules/@modelcontextprotocol/server-filesystem/dist/index.js, /srv/data]
 *       target_prefix: mcp.fs
 *       deny_tools: [write_file, edit_file, move_file]
 */
export interface McpToolBridgeConfig {
  /** `stdio` (default when `command` is set), `streamable_http` (alias `http`, default when `url` is set) or `sse`. */
  transport: McpTransportKind;
  /** stdio: the executable. */
  command?: string;
  /** stdio: its arguments. */
  args?: string[];
  /** stdio: extra environment, merged over the SDK's getDefaultEnvironment() (HOME, PATH, USER, …). */
  env?: Record<string, string>;
  /** stdio: working directory of the child. */
  cwd?: string;
  /** stdio: what to do with the child's stderr: `pipe` (default: logged at debug level), `inherit` or `ignore`. */
  stderr?: 'pipe' | 'inherit' | 'ignore';
  /** streamable_http / sse: the endpoint URL. */
  url?: string;
  /** streamable_http / sse: extra request headers. */
  headers?: Record<string, string>;
  /** streamable_http / sse: bearer token, sent as `Authorization: Bearer <token>`. */
  token?: string;
  /** Prefix of the invoke targets (default: the bridge name). Each tool is `<prefix>.<tool>`. */
  target_prefix?: string;
  /** Only these tools become targets (exact names, or globs with `*`). Default: all. */
  allow_tools?: string[];
  /** These tools never become targets (exact names, or globs with `*`); applied after allow_tools. */
  deny_tools?: string[];
  /** Upper bound of one tool call (ms); a shorter bus deadline wins. Default 60 000. */
  timeout_ms: number;
  /** Timeout of connect + initialize + the first complete tools/list, all pages (ms). Default 20 000. */
  connect_timeout_ms: number;
  /** Roots declared to the server (declaring any enables the `roots` capability). */
  roots?: McpRoot[];
  /** Debounce of the tool list refresh after `notifications/tools/list_changed` (ms). Default 100. */
  list_changed_debounce_ms: number;
  /** Validate arguments against the tool's inputSchema before calling (default true). */
  validate_arguments: boolean;
  /**
   * After the server fails, how long (ms) the targets stay registered answering AGENT_UNAVAILABLE (retryable)
   * while supervision restarts the bridge. Default 60 000; 0 releases them at `stop()` (callers then get NO_HANDLER).
   */
  unavailable_grace_ms: number;
  /**
   * Largest MCP message the bridge reads (bytes): one stdio line, one HTTP JSON body, one SSE event. A larger
   * answer fails that call (`cause.limit = "max_message_bytes"`); the connection and the other tools stay.
   * Default 4 MiB.
   */
  max_message_bytes: number;
  /**
   * Streamable HTTP: largest event the server's standalone (GET) SSE stream may send (bytes). Past it that stream
   * is closed and not reopened until the next connect (server notifications stop); calls go on. Default 1 MiB.
   */
  max_background_event_bytes: number;
  /** Most `tools/list` pages read per listing; past it the listing fails. Default 100. */
  max_tool_pages: number;
  /** Most tools served from one server; further tools are skipped with a warning. Default 1,000. */
  max_tools: number;
  /** Deepest nesting of a tool's input or output schema; a deeper tool is skipped with a warning. Default 64. */
  max_schema_depth: number;
  /**
   * Largest definition of one tool (its JSON: schemas, annotations, `_meta`, the description once cut to 4,096
   * characters); a larger tool is skipped with a warning. With `max_tools` it bounds what the bridge keeps. Default 64 KiB.
   */
  max_tool_bytes: number;
  /** Longest text from the server (error message, tool error text, stderr line) passed on, in characters. Default 1,000. */
  max_error_chars: number;
}

/** Defaults of the limits above (docs/mcp.md, "Limits"). */
export const MCP_LIMIT_DEFAULTS = {
  max_message_bytes: 4 * 1024 * 1024,
  max_background_event_bytes: 1024 * 1024,
  max_tool_pages: 100,
  max_tools: 1_000,
  max_schema_depth: 64,
  max_tool_bytes: 64 * 1024,
  max_error_chars: 1_000,
} as const;

const KEYS = new Set([
  'transport',
  'command',
  'args',
  'env',
  'cwd',
  'stderr',
  'url',
  'headers',
  'token',
  'target_prefix',
  'allow_tools',
  'deny_tools',
  'timeout_ms',
  'connect_timeout_ms',
  'roots',
  'list_changed_debounce_ms',
  'validate_arguments',
  'unavailable_grace_ms',
  'max_message_bytes',
  'max_background_event_bytes',
  'max_tool_pages',
  'max_tools',
  'max_schema_depth',
  'max_tool_bytes',
  'max_error_chars',
  // upstream's names (its example documents load as they are): seconds, and the HTTP endpoint
  'timeout',
  'http_url',
]);

/**
 * Reads and checks an `mcp_tool` config block. Unknown keys, missing required keys and wrong types throw a
 * PermanentBridgeError naming the key (`bridge "fs": config.command is required for transport stdio`).
 */
export function parseMcpToolConfig(bridgeName: string, raw: unknown): McpToolBridgeConfig {
  const fail = (msg: string): never => {
    throw new PermanentBridgeError(`bridge "${bridgeName}" (mcp_tool): ${msg}`);
  };
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) fail('config must be an object');
  const c = { ...(raw as Record<string, unknown>) };
  // Upstream's keys: `timeout` in seconds and `http_url`; ours win when both are given.
  if (c.timeout !== undefined && c.timeout !== null && c.timeout_ms === undefined) {
    const seconds = typeof c.timeout === 'string' ? Number(c.timeout) : c.timeout;
    if (typeof seconds !== 'number' || !Number.isFinite(seconds) || seconds <= 0)
      fail('config.timeout must be a positive number of seconds');
    c.timeout_ms = Math.round((seconds as number) * 1000);
  }
  if (c.http_url !== undefined && c.url === undefined) c.url = c.http_url;
  delete c.timeout;
  delete c.http_url;
  for (const key of Object.keys(c)) {
    if (!KEYS.has(key)) fail(`unknown config key "${key}" (known: ${[...KEYS].join(', ')})`);
  }
  const str = (key: string): string | undefined => {
    const v = c[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'string' || v.length === 0) fail(`config.${key} must be a non-empty string`);
    return v as string;
  };
  const strList = (key: string): string[] | undefined => {
    const v = c[key];
    if (v === undefined || v === null) return undefined;
    if (!Array.isArray(v) || v.some((x) => typeof x !== 'string' && typeof x !== 'number')) fail(`config.${key} must be a list of strings`);
    return (v as unknown[]).map(String);
  };
  const strMap = (key: string): Record<string, string> | undefined => {
    const v = c[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'object' || Array.isArray(v)) fail(`config.${key} must be a map of strings`);
    const out: Record<string, string> = {};
    for (const [k, val] of Object.entries(v as Record<string, unknown>)) {
      if (val === undefined || val === null) continue;
      if (typeof val === 'object') fail(`config.${key}.${k} must be a string`);
      out[k] = String(val);
    }
    return out;
  };
  const num = (key: string, dflt: number, min = 1): number => {
    const v = c[key];
    if (v === undefined || v === null) return dflt;
    const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : v;
    if (typeof n !== 'number' || !Number.isFinite(n) || n < min) fail(`config.${key} must be a number >= ${min}`);
    return n as number;
  };
  const bool = (key: string, dflt: boolean): boolean => {
    const v = c[key];
    if (v === undefined || v === null) return dflt;
    if (typeof v === 'boolean') return v;
    if (v === 'true') return true;
    if (v === 'false') return false;
    return fail(`config.${key} must be true or false`);
  };

  const command = str('command');
  const url = str('url');
  let transport = str('transport') as string | undefined;
  if (transport === 'http' || transport === 'streamable-http' || transport === 'streamableHttp') transport = 'streamable_http';
  if (transport === undefined) {
    if (command) transport = 'stdio';
    else if (url) transport = 'streamable_http';
    else fail('config.command (stdio) or config.url (streamable_http, sse) is required');
  }
  if (transport !== 'stdio' && transport !== 'streamable_http' && transport !== 'sse') {
    fail(`config.transport must be stdio, streamable_http or sse, not "${transport}"`);
  }
  if (transport === 'stdio' && !command) fail('config.command is required for transport stdio');
  if (transport !== 'stdio') {
    if (!url) fail(`config.url is required for transport ${transport}`);
    try {
      const u = new URL(url as string);
      if (u.protocol !== 'http:' && u.protocol !== 'https:') fail(`config.url must be an http(s) URL`);
    } catch (err) {
      if (err instanceof PermanentBridgeError) throw err;
      fail(`config.url is not a valid URL`);
    }
  }
  const stderr = str('stderr');
  if (stderr !== undefined && stderr !== 'pipe' && stderr !== 'inherit' && stderr !== 'ignore') {
    fail('config.stderr must be pipe, inherit or ignore');
  }
  const targetPrefix = str('target_prefix');
  if (targetPrefix !== undefined && !/^[^\s.*>]+(\.[^\s.*>]+)*$/.test(targetPrefix)) {
    fail('config.target_prefix must be dot-separated tokens without spaces or wildcards');
  }
  let roots: McpRoot[] | undefined;
  if (c.roots !== undefined && c.roots !== null) {
    if (!Array.isArray(c.roots)) fail('config.roots must be a list');
    roots = (c.roots as unknown[]).map((r, i) => {
      if (typeof r === 'string') return { uri: r };
      if (!r || typeof r !== 'object' || typeof (r as McpRoot).uri !== 'string') fail(`config.roots[${i}].uri is required`);
      const root = r as McpRoot;
      return root.name ? { uri: root.uri, name: String(root.name) } : { uri: root.uri };
    });
  }
  return {
    transport: transport as McpTransportKind,
    command,
    args: strList('args'),
    env: strMap('env'),
    cwd: str('cwd'),
    stderr: stderr as McpToolBridgeConfig['stderr'],
    url,
    headers: strMap('headers'),
    token: str('token'),
    target_prefix: targetPrefix,
    allow_tools: strList('allow_tools'),
    deny_tools: strList('deny_tools'),
    timeout_ms: num('timeout_ms', 60_000),
    connect_timeout_ms: num('connect_timeout_ms', 20_000),
    roots,
    list_changed_debounce_ms: num('list_changed_debounce_ms', 100, 0),
    validate_arguments: bool('validate_arguments', true),
    unavailable_grace_ms: num('unavailable_grace_ms', 60_000, 0),
    max_message_bytes: num('max_message_bytes', MCP_LIMIT_DEFAULTS.max_message_bytes, 1024),
    max_background_event_bytes: num('max_background_event_bytes', MCP_LIMIT_DEFAULTS.max_background_event_bytes, 1024),
    max_tool_pages: num('max_tool_pages', MCP_LIMIT_DEFAULTS.max_tool_pages),
    max_tools: num('max_tools', MCP_LIMIT_DEFAULTS.max_tools),
    max_schema_depth: num('max_schema_depth', MCP_LIMIT_DEFAULTS.max_schema_depth),
    max_tool_bytes: num('max_tool_bytes', MCP_LIMIT_DEFAULTS.max_tool_bytes, 1024),
    max_error_chars: num('max_error_chars', MCP_LIMIT_DEFAULTS.max_error_chars, 16),
  };
}
