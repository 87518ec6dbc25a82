import { loadPackage } from '@openagentio/nestjs/internal/utils/load-package.js';

const SDK = '@modelcontextprotocol/sdk';

/** The parts of the MCP SDK (an optional peer of this package) that the MCP bridge and endpoint use. */
export interface McpSdk {
  Client: typeof import('@modelcontextprotocol/sdk/client/index.js').Client;
  SSEClientTransport: typeof import('@modelcontextprotocol/sdk/client/sse.js').SSEClientTransport;
  StdioClientTransport: typeof import('@modelcontextprotocol/sdk/client/stdio.js').StdioClientTransport;
  getDefaultEnvironment: typeof import('@modelcontextprotocol/sdk/client/stdio.js').getDefaultEnvironment;
  deserializeMessage: typeof import('@modelcontextprotocol/sdk/shared/stdio.js').deserializeMessage;
  StreamableHTTPClientTransport: typeof import('@modelcontextprotocol/sdk/client/streamableHttp.js').StreamableHTTPClientTransport;
  StreamableHTTPError: typeof import('@modelcontextprotocol/sdk/client/streamableHttp.js').StreamableHTTPError;
  UnauthorizedError: typeof import('@modelcontextprotocol/sdk/client/auth.js').UnauthorizedError;
  Server: typeof import('@modelcontextprotocol/sdk/server/index.js').Server;
  StdioServerTransport: typeof import('@modelcontextprotocol/sdk/server/stdio.js').StdioServerTransport;
  StreamableHTTPServerTransport: typeof import('@modelcontextprotocol/sdk/server/streamableHttp.js').StreamableHTTPServerTransport;
  types: typeof import('@modelcontextprotocol/sdk/types.js');
}

let loading: Promise<McpSdk> | undefined;
let loaded: McpSdk | undefined;

/**
 * Loads the MCP SDK on first use, so an app that imports this package for the OpenAI bridge, or through the gateway, does
 * not need it; a missing SDK is a MissingPackageError naming it.
 */
export function loadMcpSdk(usedBy: string): Promise<McpSdk> {
  return (loading ??= loadPackage(SDK, usedBy, async () => {
    const [client, sse, stdio, http, auth, server, serverStdio, serverHttp, types, sharedStdio] = await Promise.all([
      import('@modelcontextprotocol/sdk/client/index.js'),
      import('@modelcontextprotocol/sdk/client/sse.js'),
      import('@modelcontextprotocol/sdk/client/stdio.js'),
      import('@modelcontextprotocol/sdk/client/streamableHttp.js'),
      import('@modelcontextprotocol/sdk/client/auth.js'),
      import('@modelcontextprotocol/sdk/server/index.js'),
      import('@modelcontextprotocol/sdk/server/stdio.js'),
      import('@modelcontextprotocol/sdk/server/streamableHttp.js'),
      import('@modelcontextprotocol/sdk/types.js'),
      import('@modelcontextprotocol/sdk/shared/stdio.js'),
    ]);
    return (loaded = {
      Client: client.Client,
      SSEClientTransport: sse.SSEClientTransport,
      StdioClientTransport: stdio.StdioClientTransport,
      getDefaultEnvironment: stdio.getDefaultEnvironment,
      deserializeMessage: sharedStdio.deserializeMessage,
      StreamableHTTPClientTransport: http.StreamableHTTPClientTransport,
      StreamableHTTPError: http.StreamableHTTPError,
      UnauthorizedError: auth.UnauthorizedError,
      Server: server.Server,
      StdioServerTransport: serverStdio.StdioServerTransport,
      StreamableHTTPServerTransport: serverHttp.StreamableHTTPServerTransport,
      types,
    });
  }).catch((err) => {
    loading = undefined;
    throw err;
  }));
}

/** The SDK once loaded (a bridge or endpoint loads it when it starts). */
export function mcpSdk(): McpSdk {
  if (!loaded) throw new Error('the MCP SDK is not loaded yet: start the MCP bridge or endpoint first');
  return loaded;
}
