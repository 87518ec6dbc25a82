import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { McpToolBridgeConfig } from './mcp-config.js';
import { mcpSdk } from './mcp-sdk.js';
import { boundedFetch, sendingRequest } from './mcp-bounded-fetch.js';
import { BoundedLineReader } from './mcp-line-reader.js';
import type { McpLimitError } from './mcp-limit-error.js';

export interface ClientTransportHooks {
  /** A stderr chunk of the stdio child (at most a few times `max_error_chars` bytes of it). */
  onStderr(text: string): void;
  /** The server's background stream went past `max_background_event_bytes` and was closed. */
  onBackgroundLimit(err: McpLimitError): void;
}

/**
 * The SDK client transport a bridge's configuration asks for (a stdio child process, Streamable HTTP or legacy SSE),
 * reading at most `max_message_bytes` per message (see BoundedLineReader and boundedFetch).
 */
export function createClientTransport(c: McpToolBridgeConfig, hooks: ClientTransportHooks): Transport {
  if (c.transport === 'stdio') {
    const t = new (mcpSdk().StdioClientTransport)({
      command: c.command!,
      args: c.args ?? [],
      env: { ...mcpSdk().getDefaultEnvironment(), ...(c.env ?? {}) },
      cwd: c.cwd,
      stderr: c.stderr ?? 'pipe',
    });
    // The SDK's ReadBuffer holds a line until its end (up to 10 MB), then drops the whole connection. Ours holds
    // at most max_message_bytes and fails only the request whose answer was too long. Same append/readMessage/clear
    // contract; the SDK version is pinned, and test/mcp/hostile-server-stdio.test.ts fails if this stops taking effect.
    (t as unknown as { _readBuffer: BoundedLineReader })._readBuffer = new BoundedLineReader(
      c.max_message_bytes,
      mcpSdk().deserializeMessage,
    );
    const stderr = t.stderr;
    if (stderr) {
      // Only the start of a chunk is decoded: what is logged is cut to max_error_chars anyway.
      const keep = c.max_error_chars * 4;
      stderr.on('data', (chunk: Buffer) => {
        const text = chunk.subarray(0, keep).toString('utf8').trimEnd();
        if (text) hooks.onStderr(text);
      });
    }
    return t;
  }
  const headers: Record<string, string> = { ...(c.headers ?? {}) };
  if (c.token) headers.Authorization = `Bearer ${c.token}`;
  const url = new URL(c.url!);
  const fetch = boundedFetch({
    maxMessageBytes: c.max_message_bytes,
    // Legacy SSE answers every request on its GET stream: one message there is bounded like any other.
    maxBackgroundEventBytes: c.transport === 'sse' ? c.max_message_bytes : c.max_background_event_bytes,
    backgroundIsOptional: c.transport !== 'sse',
    onBackgroundLimit: hooks.onBackgroundLimit,
  });
  const t =
    c.transport === 'sse'
      ? // requestInit headers also go on the SSE GET (the SDK merges them into the EventSource fetch).
        new (mcpSdk().SSEClientTransport)(url, { requestInit: { headers }, fetch })
      : new (mcpSdk().StreamableHTTPClientTransport)(url, { requestInit: { headers }, fetch });
  // The fetch a send makes learns which request it carries, to fail that one when its answer is too large.
  const transport = t as Transport;
  const send = transport.send.bind(transport);
  transport.send = (message, options) =>
    sendingRequest('method' in message && 'id' in message ? message.id : undefined, () => send(message, options));
  return transport;
}
