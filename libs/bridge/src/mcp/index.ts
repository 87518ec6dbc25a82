// MCP bridge (docs/mcp.md): MCP servers → bus targets (`McpToolBridge`, type `mcp_tool`) and
// bus targets → MCP server (`McpBusEndpoint`). Helpers with generic names stay in their modules.
export { McpToolBridge, mcpToolBridgeFactory, MCP_TOOL_BRIDGE_TYPE } from './mcp-tool-bridge.js';
export { McpMetaKeys } from './mcp-meta-keys.js';
export type { McpToolResult, McpProgress, McpToolBridgeStats } from '../interfaces/mcp-tool-bridge.interface.js';
export { parseMcpToolConfig, type McpToolBridgeConfig, type McpTransportKind, type McpRoot } from './mcp-config.js';
export { toolTargetToken } from './mcp-names.js';
export { McpBusEndpoint } from './mcp-bus-endpoint.js';
export { toCallToolResult } from './mcp-tool-result.js';
export type { McpExposedTool, McpBusEndpointOptions, McpHttpListener } from '../interfaces/mcp-bus-endpoint-options.interface.js';
export { schemaFromDto } from './mcp-dto-schema.js';
