import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BusError } from '@openagentio/nestjs';
import { parseMcpToolConfig } from '@openagentio/nestjs-bridges/internal/mcp/mcp-config.js';
// Internals under unit test, reached through the package's internal/ entry (not public API).
import { BoundedLineReader } from '@openagentio/nestjs-bridges/internal/mcp/mcp-line-reader.js';
import { boundedFetch, sendingRequest } from '@openagentio/nestjs-bridges/internal/mcp/mcp-bounded-fetch.js';
import { limitOf, McpLimitError, nestingDepth } from '@openagentio/nestjs-bridges/internal/mcp/mcp-limit-error.js';
import { errorResult } from '@openagentio/nestjs-bridges/internal/mcp/mcp-tool-result.js';
import { compileArgumentValidator } from '@openagentio/nestjs-bridges/internal/mcp/mcp-schema.js';
import { hideInternalSubjects } from '@openagentio/nestjs-bridges/internal/http/internal-subjects.js';

const parse = (line: string) => JSON.parse(line) as never;

/** A fetch that answers `body` with `contentType`, in chunks of `chunk` bytes. */
function fakeFetch(body: string, contentType: string, chunk = 1000, declareLength = false): typeof fetch {
  return (async () => {
    const bytes = new TextEncoder().encode(body);
    let pos = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(c) {
        if (pos >= bytes.length) return c.close();
        c.enqueue(bytes.subarray(pos, pos + chunk));
        pos += chunk;
      },
    });
    const headers: Record<string, string> = { 'content-type': contentType };
    if (declareLength) headers['content-length'] = String(bytes.length);
    return new Response(stream, { status: 200, headers });
  }) as typeof fetch;
}

describe('mcp_tool limits (units)', () => {
  it('config: the limits have their documented defaults and are checked', () => {
    const c = parseMcpToolConfig('x', { command: 'node' });
    assert.equal(c.max_message_bytes, 4 * 1024 * 1024);
    assert.equal(c.max_background_event_bytes, 1024 * 1024);
    assert.equal(c.max_tool_pages, 100);
    assert.equal(c.max_tools, 1000);
    assert.equal(c.max_schema_depth, 64);
    assert.equal(c.max_tool_bytes, 64 * 1024);
    assert.equal(c.max_error_chars, 1000);
    assert.throws(() => parseMcpToolConfig('x', { command: 'node', max_message_bytes: 10 }), /max_message_bytes must be a number >= 1024/);
    assert.throws(() => parseMcpToolConfig('x', { command: 'node', max_tools: 0 }), /max_tools must be a number >= 1/);
  });

  it('line reader: lines across chunks and CRLF; a line past the limit becomes an error for its id (at either end)', () => {
    const r = new BoundedLineReader(64, parse);
    r.append(Buffer.from('{"jsonrpc":"2.0","id":1,"res'));
    assert.equal(r.readMessage(), null);
    r.append(Buffer.from('ult":{}}\r\n{"jsonrpc":"2.0","method":"x"}\n'));
    assert.deepEqual(r.readMessage(), { jsonrpc: '2.0', id: 1, result: {} });
    assert.deepEqual(r.readMessage(), { jsonrpc: '2.0', method: 'x' });
    assert.equal(r.readMessage(), null);

    const big = 'z'.repeat(10_000);
    r.append(Buffer.from(`{"result":{"t":"${big.slice(0, 5000)}`));
    r.append(Buffer.from(`${big.slice(5000)}"},"jsonrpc":"2.0","id":7}\n{"jsonrpc":"2.0","id":"s-1","result":{"t":"${big}"}}\n`));
    const atEnd = r.readMessage() as unknown as { id: number; error: { code: number; message: string; data: unknown } };
    assert.equal(atEnd.id, 7);
    assert.match(atEnd.error.message, /exceeds max_message_bytes \(64\)/);
    assert.deepEqual(limitOf(atEnd.error), { limit: 'max_message_bytes', value: 64 });
    const atStart = r.readMessage() as unknown as { id: string };
    assert.equal(atStart.id, 's-1');
    // No id to be found: the line is dropped with an error the SDK reports; reading goes on.
    r.append(Buffer.from(`${big}\n{"jsonrpc":"2.0","method":"after"}\n`));
    assert.throws(() => r.readMessage(), McpLimitError);
    assert.deepEqual(r.readMessage(), { jsonrpc: '2.0', method: 'after' });
  });

  it('bounded fetch: an SSE event past the limit ends the stream with an error event for the request; smaller ones pass', async () => {
    const ok = `event: message\r\ndata: ${'a'.repeat(50)}\r\n\r\n`;
    const flood = `data: ${'b'.repeat(5000)}`;
    const f = boundedFetch(
      { maxMessageBytes: 100, maxBackgroundEventBytes: 100, backgroundIsOptional: true, onBackgroundLimit: () => {} },
      fakeFetch(ok.repeat(20) + flood, 'text/event-stream', 7),
    );
    const res = await sendingRequest(42, () => f('http://127.0.0.1/mcp', { method: 'POST' }));
    const text = await res.text();
    assert.ok(text.startsWith(ok.repeat(20)), 'events under the limit pass whole, however they are chunked');
    assert.ok(text.length < ok.length * 20 + 400, `the flood was cut (${text.length} chars)`);
    const last = text.trimEnd().split('\n').pop()!;
    const msg = JSON.parse(last.replace(/^data: /, '')) as { id: number; error: { data: { limit: string } } };
    assert.equal(msg.id, 42);
    assert.equal(msg.error.data.limit, 'max_message_bytes');
  });

  it('bounded fetch: a JSON body past the limit fails reading it; the background stream is closed and not reopened', async () => {
    const f = boundedFetch(
      { maxMessageBytes: 100, maxBackgroundEventBytes: 100, backgroundIsOptional: true, onBackgroundLimit: () => {} },
      fakeFetch(`{"x":"${'c'.repeat(500)}"}`, 'application/json'),
    );
    const res = await f('http://127.0.0.1/mcp', { method: 'POST' });
    await assert.rejects(res.json(), (e: unknown) => e instanceof McpLimitError && e.limit === 'max_message_bytes');

    // A declared length over the limit fails before any of the body is read; one within it passes as it is.
    const declared = boundedFetch(
      { maxMessageBytes: 100, maxBackgroundEventBytes: 100, backgroundIsOptional: true, onBackgroundLimit: () => {} },
      fakeFetch(`{"x":"${'c'.repeat(500)}"}`, 'application/json', 1000, true),
    );
    await assert.rejects(declared('http://127.0.0.1/mcp', { method: 'POST' }), McpLimitError);
    const small = boundedFetch(
      { maxMessageBytes: 100, maxBackgroundEventBytes: 100, backgroundIsOptional: true, onBackgroundLimit: () => {} },
      fakeFetch('{"x":1}', 'application/json', 1000, true),
    );
    assert.deepEqual(await (await small('http://127.0.0.1/mcp', { method: 'POST' })).json(), { x: 1 });

    const limits: McpLimitError[] = [];
    const g = boundedFetch(
      { maxMessageBytes: 100, maxBackgroundEventBytes: 100, backgroundIsOptional: true, onBackgroundLimit: (e) => limits.push(e) },
      fakeFetch(`data: ${'d'.repeat(500)}`, 'text/event-stream'),
    );
    await (await g('http://127.0.0.1/mcp', { method: 'GET' })).text();
    assert.equal(limits.length, 1);
    assert.equal(limits[0].limit, 'max_background_event_bytes');
    assert.equal((await g('http://127.0.0.1/mcp', { method: 'GET' })).status, 405);
  });

  it('nesting depth is measured without recursion and stops past the limit', () => {
    let deep: unknown = {};
    for (let i = 0; i < 100_000; i++) deep = { a: deep };
    assert.equal(nestingDepth(deep, 64), 65);
    assert.equal(nestingDepth({ a: [{ b: 1 }] }, 64), 3);
    assert.equal(nestingDepth('x', 64), 0);
  });

  it('errors shown to MCP clients do not name reply inboxes', () => {
    assert.equal(
      hideInternalSubjects('chunked message on _INBOX.Ab12.99 could not be fetched'),
      'chunked message on (internal subject) could not be fetched',
    );
    const r = errorResult(
      new BusError('TRANSPORT_FAILURE', 'the one on _INBOX.xyz.1 was refused', {
        cause: { inbox: '_INBOX.xyz', note: 'see "_INBOX.q\\"r"' },
      }),
    );
    const all = JSON.stringify(r);
    assert.ok(!all.includes('_INBOX'), all);
    assert.equal((r.content[0] as { text: string }).text, 'TRANSPORT_FAILURE: the one on (internal subject) was refused');
    assert.deepEqual((r._meta!['openagentio/error'] as { cause: unknown }).cause, { note: 'see "(internal subject)\\"r"' });
  });

  it("schema patterns (the server's) run in linear time on arguments (the callers'); each pattern keeps its own regex", () => {
    const v = compileArgumentValidator({
      type: 'object',
      properties: {
        q: { type: 'string', pattern: '^(a+)+$' },
        x: { type: 'string', pattern: '^x$' },
        y: { type: 'string', pattern: '^y$' },
      },
    })!;
    v.check({ q: 'aaa', x: 'x', y: 'y' }, 't');
    const t0 = process.cpuUsage();
    assert.throws(
      () => v.check({ q: `${'a'.repeat(50_000)}!` }, 't'),
      (e: BusError) => e.code === 'INVALID_REQUEST' && (e.details?.fields as string[])[0] === 'q',
    );
    const cpu = process.cpuUsage(t0);
    assert.ok((cpu.user + cpu.system) / 1000 < 200, 'no catastrophic backtracking');
    assert.throws(() => v.check({ x: 'y' }, 't'), /x must match pattern/);
    assert.throws(() => v.check({ y: 'x' }, 't'), /y must match pattern/);
    // RE2 has no lookaround: such a pattern is left to the server rather than failing the whole schema.
    const look = compileArgumentValidator({ type: 'object', properties: { z: { type: 'string', pattern: '^(?=a)a$' } } })!;
    look.check({ z: 'b' }, 't');
  });
});
