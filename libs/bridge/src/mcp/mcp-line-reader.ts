import type { JSONRPCMessage, RequestId } from '@modelcontextprotocol/sdk/types.js';
import { limitErrorResponse, McpLimitError } from './mcp-limit-error.js';

/** Bytes kept of each end of a line that is too long: enough to find its JSON-RPC `id`. */
const EDGE = 160;
const NEWLINE = 0x0a;

// The top-level id of a JSON-RPC message, at its start (`{"jsonrpc":"2.0","id":7,…`) or its end (`…,"id":7}`, what
// the SDK's servers write). Run only on the EDGE bytes kept, and neither has nested quantifiers.
const ID_AT_START = /^\s*\{\s*(?:"jsonrpc"\s*:\s*"2\.0"\s*,\s*)?"id"\s*:\s*(-?\d{1,16}|"[^"\\]{0,128}")/;
const ID_AT_END = /"id"\s*:\s*(-?\d{1,16}|"[^"\\]{0,128}")\s*(?:,\s*"jsonrpc"\s*:\s*"2\.0"\s*)?\}\s*$/;

type Item = { line: Buffer } | { tooLong: { head: Buffer; tail: Buffer; bytes: number } };

/**
 * Splits a stdio byte stream into JSON-RPC messages, one per line, like the SDK's ReadBuffer, but a line longer than
 * `maxBytes` is never held: its bytes are dropped as they arrive (keeping only its first and last EDGE bytes), and
 * when it ends it becomes an error response for its request id (when one can be found at either end), so that one
 * call fails naming `max_message_bytes` while the connection and every other call go on.
 */
export class BoundedLineReader {
  private parts: Buffer[] = [];
  private size = 0;
  private skipping?: { head: Buffer; tail: Buffer; bytes: number };
  private readonly ready: Item[] = [];

  constructor(
    private readonly maxBytes: number,
    private readonly parse: (line: string) => JSONRPCMessage,
  ) {}

  append(chunk: Buffer): void {
    let pos = 0;
    while (pos < chunk.length) {
      const nl = chunk.indexOf(NEWLINE, pos);
      const end = nl === -1 ? chunk.length : nl;
      const piece = chunk.subarray(pos, end);
      if (this.skipping) {
        const t = this.skipping.tail;
        this.skipping.tail = piece.length >= EDGE ? lastBytes(piece, EDGE) : lastBytes(Buffer.concat([t, piece]), EDGE);
        this.skipping.bytes += piece.length;
      } else if (this.size + piece.length > this.maxBytes) {
        const held = Buffer.concat([...this.parts, piece]);
        this.skipping = { head: held.subarray(0, EDGE), tail: lastBytes(held, EDGE), bytes: held.length };
        this.parts = [];
        this.size = 0;
      } else if (piece.length > 0) {
        this.parts.push(piece);
        this.size += piece.length;
      }
      if (nl === -1) break;
      if (this.skipping) this.ready.push({ tooLong: this.skipping });
      else this.ready.push({ line: Buffer.concat(this.parts) });
      this.skipping = undefined;
      this.parts = [];
      this.size = 0;
      pos = nl + 1;
    }
  }

  /** The next message, or null; throws for a line that is not a message (the SDK reports it and reads on). */
  readMessage(): JSONRPCMessage | null {
    const item = this.ready.shift();
    if (!item) return null;
    if ('line' in item) {
      const text = item.line.toString('utf8');
      return this.parse(text.endsWith('\r') ? text.slice(0, -1) : text);
    }
    const { head, tail, bytes } = item.tooLong;
    const err = new McpLimitError('max_message_bytes', this.maxBytes, `a message of at least ${bytes} bytes from the MCP server`);
    const id = idOf(head.toString('utf8'), tail.toString('utf8'));
    if (id === undefined) throw err;
    return limitErrorResponse(id, err);
  }

  clear(): void {
    this.parts = [];
    this.size = 0;
    this.skipping = undefined;
    this.ready.length = 0;
  }
}

function lastBytes(b: Buffer, n: number): Buffer {
  return b.length <= n ? b : b.subarray(b.length - n);
}

function idOf(head: string, tail: string): RequestId | undefined {
  const m = ID_AT_START.exec(head) ?? ID_AT_END.exec(tail.replace(/\r$/, ''));
  if (!m) return undefined;
  return m[1].startsWith('"') ? m[1].slice(1, -1) : Number(m[1]);
}
