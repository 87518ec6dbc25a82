// MCP bridge (docs/mcp.md): MCP servers → bus targets (`McpToolBridge`, type `mcp_tool`) and
// bus targets → MCP server (`McpBusEndpoint`). Helpers with generic names stay in their modules.
export {
  McpToolBridge,
  mcpToolBridgeFactory,
  MCP_TOOL_BRIDGE_TYPE,
  McpMetaKeys,
  type McpToolResult,
  type McpProgress,
  type McpToolBridgeStats,
} from './mcp-tool-bridge.js';
export { parseMcpToolConfig, type McpToolBridgeConfig, type McpTransportKind, type McpRoot } from './mcp-config.js';
export { toolTargetToken } from './mcp-names.js';
export {
  McpBusEndpoint,
  toCallToolResult,
  type McpExposedTool,
  type McpBusEndpointOptions,
  type McpHttpListener,
} from './mcp-bus-endpoint.js';
export { schemaFromDto } from './mcp-dto-schema.js';
