import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type BusClient, MemoryBroker } from '@openagentio/nestjs';
import type { McpToolBridge } from '@openagentio/nestjs-bridges';
import { busError, newBus } from './helpers.js';
import {
  assertBounded,
  assertHealthy,
  assertSiblingAnswers,
  heapAfterGc,
  MiB,
  recordingContext,
  stdioBridge,
  watch,
} from './hostile-helpers.js';

// Issue 30 (MCP): a hostile MCP server over stdio cannot block the agent's event loop, fill its heap, or take the
// other tools of the server down. Each test fails against the code before the fix (see the finding it names).

describe('mcp_tool bridge against a hostile MCP server (stdio)', () => {
  const broker = new MemoryBroker();
  let bus: BusClient;
  let caller: BusClient;
  const started: McpToolBridge[] = [];

  before(async () => {
    bus = await newBus(broker, 'host');
    caller = await newBus(broker, 'caller');
  });

  after(async () => {
    for (const b of started) await b.stop();
    await caller?.close();
    await bus?.close();
  });

  async function prepare(name: string, env: Record<string, string>, config: Record<string, unknown> = {}) {
    const bridge = stdioBridge(name, env, config);
    const ctx = recordingContext(bus);
    started.push(bridge);
    return { bridge, ctx, start: () => bridge.start(ctx) };
  }

  // Finding: an error text, a JSON-RPC error message or a stderr line of 8,000 chars of key-key-… blocked the event
  // loop 15–16 s (the redaction regex backtracked about cubically; the stderr path ran at every log level).
  it('1 MiB of redaction bait in an error text, a JSON-RPC error message and stderr: no blocked loop, callers get ≤ 1,001 chars', async () => {
    const { bridge, ctx, start } = await prepare('bait', { HOSTILE_STDERR_BYTES: String(MiB) });
    const w = await watch(async () => {
      await start();
      const isError = await busError(caller.invoke('bait.redos-error', {}));
      const rpc = await busError(caller.invoke('bait.redos-rpc-error', {}));
      return { isError, rpc };
    });
    assertBounded(w, 'redaction bait');
    for (const e of [w.value.isError, w.value.rpc]) {
      assert.equal(e.code, 'AGENT_UNAVAILABLE');
      assert.ok(e.message.length <= 1_001 + 40, `message of ${e.message.length} chars`);
      assert.ok(!e.message.includes('_INBOX'));
    }
    assert.ok(w.value.isError.message.endsWith('…'));
    const stderr = ctx.logger.lines.filter((l: string) => l.startsWith('debug') && l.includes('stderr:'));
    assert.ok(stderr.length > 0, 'the stderr line was logged');
    assert.ok(
      stderr.every((l: string) => l.length < 1_200),
      'each stderr log line is cut',
    );
    await assertSiblingAnswers(caller, 'bait');
    assertHealthy(bridge, ctx);
  });

  // Finding: a flooding answer grew the heap to 2.37 GB before its timeout; the SDK's own line buffer (10 MB) drops
  // the whole connection.
  it('an answer past max_message_bytes fails that one call naming the limit, at once; the connection and siblings stay', async () => {
    const { bridge, ctx, start } = await prepare('big', {}, { max_message_bytes: MiB, timeout_ms: 30_000 });
    await start();
    const small = await caller.invoke<{ text: string }>('big.big-answer', { bytes: 100_000 });
    assert.equal(small.text.length, 100_000);
    const w = await watch(async () => {
      const t0 = Date.now();
      // id at the end of the line (as the SDK's servers write it), then at its start
      const atEnd = await busError(caller.invoke('big.big-answer', { bytes: 8 * MiB }));
      const atStart = await busError(caller.invoke('big.flood-answer', { bytes: 8 * MiB }));
      return { atEnd, atStart, ms: Date.now() - t0 };
    });
    assertBounded(w, 'oversize answers', 48);
    for (const e of [w.value.atEnd, w.value.atStart]) {
      assert.equal(e.code, 'AGENT_UNAVAILABLE');
      assert.equal(e.retryable, false);
      assert.match(e.message, /exceeds max_message_bytes \(1048576\)/);
      assert.equal(e.details?.limit, 'max_message_bytes');
    }
    assert.ok(w.value.ms < 10_000, `failed after ${w.value.ms} ms, not at the 30 s timeout`);
    assert.equal(bridge.stats.oversizeAnswers, 2);
    await assertSiblingAnswers(caller, 'big');
    assertHealthy(bridge, ctx);
  });

  // A pattern in a tool's schema is the server's; the argument checked against it is a caller's.
  it("a schema pattern that backtracks exponentially does not block the loop when a caller's argument is checked", async () => {
    const { bridge, ctx, start } = await prepare('pat', {});
    await start();
    const w = await watch(() => busError(caller.invoke('pat.redos-pattern', { q: `${'a'.repeat(40)}!` })));
    assertBounded(w, 'schema pattern');
    assert.equal(w.value.code, 'INVALID_REQUEST');
    assert.deepEqual(w.value.details?.fields, ['q']);
    assert.equal((await caller.invoke<{ text: string }>('pat.redos-pattern', { q: 'aaaa' })).text, 'matched');
    await assertSiblingAnswers(caller, 'pat');
    assertHealthy(bridge, ctx);
  });

  // Finding: a 5 MB isError text was handed to the caller as it was.
  it('a 3 MiB isError text reaches the caller cut to max_error_chars (1,000) plus …; a 10,000-deep structuredContent is left out', async () => {
    const { bridge, ctx, start } = await prepare('huge', {});
    await start();
    const w = await watch(() => busError(caller.invoke('huge.huge-error', { bytes: 3 * MiB })));
    assertBounded(w, 'huge error text');
    assert.equal(w.value.message, `${'e'.repeat(1_000)}…`);
    // Its structuredContent, nested 10,000 deep, is left out rather than failing the encoding of the error.
    const deep = await busError(caller.invoke('huge.deep-error', {}));
    assert.equal(deep.message, 'deep');
    assert.match(String(deep.details?.structuredContent_omitted), /nested deeper than 64/);
    await assertSiblingAnswers(caller, 'huge');
    assertHealthy(bridge, ctx);
  });

  // Finding: a server answering a new nextCursor on every page kept start() from ever settling (395,000 pages,
  // heap growing, after 20 s with connect_timeout_ms 5 s).
  it('a tools/list that never ends: start fails at max_tool_pages, or at connect_timeout_ms, with a clear error', async () => {
    const pages = await prepare('endless', { HOSTILE_LIST: 'endless-cursor' }, { max_tool_pages: 50 });
    const w1 = await watch(() =>
      pages.start().then(
        () => assert.fail('start should fail'),
        (e: Error) => e,
      ),
    );
    assertBounded(w1, 'endless cursor (pages)');
    assert.match(w1.value.message, /exceeds max_tool_pages \(50\)/);
    assert.equal(pages.bridge.status, 'stopped');
    assert.deepEqual(pages.bridge.targets, []);

    const timed = await prepare('endless2', { HOSTILE_LIST: 'endless-cursor' }, { max_tool_pages: 1_000_000, connect_timeout_ms: 1_000 });
    const t0 = Date.now();
    const w2 = await watch(() =>
      timed.start().then(
        () => assert.fail('start should fail'),
        (e: Error) => e,
      ),
    );
    const ms = Date.now() - t0;
    assertBounded(w2, 'endless cursor (timeout)');
    assert.match(w2.value.message, /not complete within connect_timeout_ms \(1000 ms\)|timed out after 1000 ms/);
    assert.ok(ms < 3_000, `start failed after ${ms} ms`);
    assert.equal(timed.bridge.status, 'stopped');
  });

  // Finding: one inputSchema nested 10,000 deep failed start() ("Maximum call stack size exceeded"): every tool of
  // that server gone, and supervision restarted into the same error.
  it('a tool whose schema nests 10,000 deep (and one whose schema is no object, one of 100 KB) is skipped with a warning; the others are served', async () => {
    const { bridge, ctx, start } = await prepare('deep', { HOSTILE_LIST: 'deep' });
    const w = await watch(start);
    assertBounded(w, 'deep schema');
    assert.ok(bridge.targets.includes('deep.ok'));
    assert.ok(!bridge.targets.includes('deep.deep'));
    assert.ok(!bridge.targets.includes('deep.not-an-object-schema'));
    assert.equal(bridge.targets.length, 10);
    const warnings = ctx.logger.lines.filter((l: string) => l.startsWith('warn'));
    assert.ok(
      warnings.some((l: string) => l.includes('tool "deep" is not served') && l.includes('max_schema_depth (64)')),
      warnings.join('\n'),
    );
    assert.ok(warnings.some((l: string) => l.includes('tool "not-an-object-schema" is not served') && l.includes('inputSchema.type')));
    // An output schema Ajv cannot compile costs only the check of that tool's results.
    assert.ok(warnings.some((l: string) => l.includes('output schema of "uncompilable-output" does not compile')));
    assert.deepEqual(await caller.invoke('deep.uncompilable-output', {}), { content: [], structuredContent: { a: 1 } });
    assert.ok(warnings.some((l: string) => l.includes('tool "fat" is not served') && l.includes('larger than max_tool_bytes (65536)')));
    assert.equal(bridge.stats.toolsSkipped, 3);
    assert.deepEqual(
      (bridge.describe().skipped_tools as Array<{ name: string }>).map((s) => s.name),
      ['deep', 'not-an-object-schema', 'fat'],
    );
    await assertSiblingAnswers(caller, 'deep');
    assertHealthy(bridge, ctx);
  });

  it("results are checked against the tool's output schema (as the SDK client did)", async () => {
    const { bridge, ctx, start } = await prepare('out', {});
    await start();
    const good = await caller.invoke<{ structuredContent: unknown }>('out.checked-output', {});
    assert.deepEqual(good.structuredContent, { n: 1 });
    const bad = await busError(caller.invoke('out.checked-output', { wrong: true }));
    assert.equal(bad.code, 'INVALID_REQUEST');
    assert.match(bad.message, /structured content of MCP tool "checked-output" does not match its output schema: n must be number/);
    assertHealthy(bridge, ctx);
  });

  // Finding: 20,000 tools became 20,000 targets, no cap (+130–185 MB).
  it('20,000 tools: max_tools (1,000) are served, the rest skipped and counted, the heap stays small', async () => {
    const before = heapAfterGc();
    const { bridge, ctx, start } = await prepare('many', { HOSTILE_LIST: 'many' });
    const w = await watch(start);
    assertBounded(w, '20,000 tools');
    assert.equal(bridge.targets.length, 1_000);
    assert.equal(bridge.stats.toolsSkipped, 20_009 - 1_000);
    const retained = (heapAfterGc() - before) / MiB;
    assert.ok(retained < 24, `the bridge holds ${retained.toFixed(1)} MiB`);
    assert.ok(ctx.logger.lines.some((l: string) => l.includes('more than max_tools (1000)')));
    assert.ok(ctx.logger.lines.filter((l: string) => l.includes('is not served')).length <= 20, 'skipped tools are not logged one by one');
    await assertSiblingAnswers(caller, 'many');
    assertHealthy(bridge, ctx);
  });
});
