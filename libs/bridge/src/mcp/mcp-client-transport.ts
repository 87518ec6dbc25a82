import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { McpToolBridgeConfig } from './mcp-config.js';
import { mcpSdk } from './mcp-sdk.js';

/** The SDK client transport a bridge's configuration asks for: a stdio child process, Streamable HTTP or legacy SSE. */
export function createClientTransport(c: McpToolBridgeConfig, onStderr: (text: string) => void): Transport {
  if (c.transport === 'stdio') {
    const t = new (mcpSdk().StdioClientTransport)({
      command: c.command!,
      args: c.args ?? [],
      env: { ...mcpSdk().getDefaultEnvironment(), ...(c.env ?? {}) },
      cwd: c.cwd,
      stderr: c.stderr ?? 'pipe',
    });
    const stderr = t.stderr;
    if (stderr) {
      stderr.on('data', (chunk: Buffer) => {
        const text = chunk.toString('utf8').trimEnd();
        if (text) onStderr(text);
      });
    }
    return t;
  }
  const headers: Record<string, string> = { ...(c.headers ?? {}) };
  if (c.token) headers.Authorization = `Bearer ${c.token}`;
  const url = new URL(c.url!);
  if (c.transport === 'sse') {
    // requestInit headers also go on the SSE GET (the SDK merges them into the EventSource fetch).
    return new (mcpSdk().SSEClientTransport)(url, { requestInit: { headers } });
  }
  return new (mcpSdk().StreamableHTTPClientTransport)(url, { requestInit: { headers } });
}
