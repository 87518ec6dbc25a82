import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BusClient, BusError, MemoryBroker } from '@openagentio/nestjs';
import { McpToolBridge, type McpToolResult } from '@openagentio/nestjs-bridges';
import { bridgeContext, FILESYSTEM, MEMORY, newBus } from './helpers.js';

describe('mcp_tool bridge: server-memory and server-filesystem over stdio', () => {
  const broker = new MemoryBroker();
  let bus: BusClient;
  let dir: string;
  let memory: McpToolBridge;
  let fs: McpToolBridge;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'oaio-mcp-'));
    await writeFile(join(dir, 'hello.txt'), 'hello from the bus\n');
    bus = await newBus(broker, 'host');
    memory = new McpToolBridge('memory', {
      command: process.execPath,
      args: [MEMORY],
      env: { MEMORY_FILE_PATH: join(dir, 'memory.jsonl') },
      target_prefix: 'mcp.memory',
    });
    fs = new McpToolBridge('fs', {
      command: process.execPath,
      args: [FILESYSTEM, dir],
      target_prefix: 'mcp.fs',
      deny_tools: ['write_file', 'edit_file', 'move_file', 'create_directory'],
    });
    await memory.start(bridgeContext(bus));
    await fs.start(bridgeContext(bus));
  });

  after(async () => {
    await memory?.stop();
    await fs?.stop();
    await bus?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('server-memory: create_entities and read_graph, structuredContent passed through, file written', async () => {
    assert.ok(memory.targets.includes('mcp.memory.create_entities'));
    assert.ok(memory.targets.includes('mcp.memory.read_graph'));
    const created = await bus.invoke<McpToolResult>('mcp.memory.create_entities', {
      entities: [{ name: 'bus', entityType: 'system', observations: ['speaks acp/1.0'] }],
    });
    assert.equal((created.structuredContent as { entities: unknown[] }).entities.length, 1);
    const graph = await bus.invoke<McpToolResult>('mcp.memory.read_graph', {});
    const entities = (graph.structuredContent as { entities: Array<{ name: string }> }).entities;
    assert.deepEqual(
      entities.map((e) => e.name),
      ['bus'],
    );
    const file = await readFile(join(dir, 'memory.jsonl'), 'utf8');
    assert.match(file, /"name":"bus"/);
    const bad = await bus.invoke('mcp.memory.create_entities', { entities: [{ name: 'x' }] }).catch((e: BusError) => e);
    assert.equal((bad as BusError).code, 'INVALID_REQUEST');
    const fields = (bad as BusError).details?.fields as string[];
    assert.ok(fields.includes('entities.0.entityType') && fields.includes('entities.0.observations'), `fields: ${fields}`);
  });

  it('server-filesystem: read_text_file inside the allowed folder; outside is an error; denied tools are not served', async () => {
    const r = await bus.invoke<McpToolResult>('mcp.fs.read_text_file', { path: join(dir, 'hello.txt') });
    assert.equal(r.text, 'hello from the bus\n');
    const err = await bus.invoke('mcp.fs.read_text_file', { path: '/etc/passwd' }).catch((e: BusError) => e);
    assert.ok(err instanceof BusError);
    assert.match(err.message, /denied|outside/i);
    assert.ok(!fs.targets.includes('mcp.fs.write_file'));
    assert.ok(fs.targets.includes('mcp.fs.list_directory'));
  });
});
