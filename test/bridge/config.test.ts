import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BridgeConfigError, type McpToolBridge, OpenClawChatSseBridge } from '@openagentio/nestjs-bridges';
import { buildBridges } from '@openagentio/nestjs-bridges/internal/bridge-manager.js';
import { interpolateEnv, loadBridgeConfig } from '@openagentio/nestjs-bridges/internal/config/bridge-config.js';

describe('bridge configuration documents (openagentio.bridge/v1)', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'bridges-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const yamlDoc = `version: openagentio.bridge/v1
bridges:
  - name: llm
    type: openclaw_chat_sse
    config:
      base_url: \${LLM_URL:-http://127.0.0.1:9/v1}
      token: \${LLM_TOKEN}
      model: gpt-test
      timeout_ms: 5000
    mappings: []
`;

  it('reads a YAML file and resolves ${VAR} and ${VAR:-default}', () => {
    const p = join(dir, 'bridges.yaml');
    writeFileSync(p, yamlDoc);
    const doc = loadBridgeConfig(p, { LLM_TOKEN: 'sk-1' });
    assert.equal(doc.version, 'openagentio.bridge/v1');
    assert.equal(doc.bridges.length, 1);
    assert.deepEqual(doc.bridges[0].config, { base_url: 'http://127.0.0.1:9/v1', token: 'sk-1', model: 'gpt-test', timeout_ms: 5000 });
    assert.deepEqual(doc.bridges[0].mappings, {});
    const over = loadBridgeConfig(p, { LLM_TOKEN: 'x', LLM_URL: 'http://h/v1' });
    assert.equal(over.bridges[0].config.base_url, 'http://h/v1');
  });

  it('reads a JSON file, inline text and inline objects', () => {
    const p = join(dir, 'bridges.json');
    writeFileSync(p, JSON.stringify({ version: 'openagentio.bridge/v1', bridges: [{ name: 'a', type: 't' }] }));
    assert.equal(loadBridgeConfig(p).bridges[0].name, 'a');
    assert.deepEqual(loadBridgeConfig(p).bridges[0].config, {});
    assert.equal(loadBridgeConfig({ path: p }).bridges[0].type, 't');
    assert.equal(loadBridgeConfig(yamlDoc, { LLM_TOKEN: 't' }).bridges[0].name, 'llm');
    assert.equal(loadBridgeConfig({ text: '{"version":"openagentio.bridge/v1","bridges":[]}' }).bridges.length, 0);
    assert.equal(
      loadBridgeConfig({ version: 'openagentio.bridge/v1', bridges: [{ name: 'b', type: 't', config: { u: '${U:-x}' } }] }).bridges[0]
        .config.u,
      'x',
    );
  });

  it('an unset variable without default is an error naming the variable and key', () => {
    assert.throws(
      () => loadBridgeConfig(yamlDoc, {}),
      (e: Error) => e instanceof BridgeConfigError && /LLM_TOKEN/.test(e.message) && /bridges\[0\]\.config\.token/.test(e.message),
    );
    assert.equal(interpolateEnv('a-${X:-}-b', {}), 'a--b');
  });

  it('rejects unknown versions, missing keys and duplicate names, naming the key', () => {
    const bad = (doc: unknown, re: RegExp) =>
      assert.throws(
        () => loadBridgeConfig(doc as Record<string, unknown>),
        (e: Error) => e instanceof BridgeConfigError && re.test(e.message),
        String(re),
      );
    bad({ version: 'openagentio.bridge/v2', bridges: [] }, /version: unknown version "openagentio.bridge\/v2"/);
    bad({ bridges: [] }, /version is required/);
    bad({ version: 'openagentio.bridge/v1' }, /bridges is required/);
    bad({ version: 'openagentio.bridge/v1', bridges: {} }, /bridges must be a list/);
    bad({ version: 'openagentio.bridge/v1', bridges: [{ type: 'x' }] }, /bridges\[0\]\.name is required/);
    bad({ version: 'openagentio.bridge/v1', bridges: [{ name: 'a' }] }, /bridges\[0\]\.type is required/);
    bad({ version: 'openagentio.bridge/v1', bridges: [{ name: 'a', type: 'x', config: [] }] }, /bridges\[0\]\.config must be a mapping/);
    bad(
      {
        version: 'openagentio.bridge/v1',
        bridges: [
          { name: 'a', type: 'x' },
          { name: 'a', type: 'y' },
        ],
      },
      /bridges\[1\]\.name: duplicate bridge name "a"/,
    );
    assert.throws(() => loadBridgeConfig(join(dir, 'missing.yaml')), /cannot read/);
    assert.throws(() => loadBridgeConfig('version: [\n  - broken'), /invalid YAML/);
  });

  it('mappings may be a map (as upstream writes them) or a list of maps; anything else names the key', () => {
    // Upstream's own example documents write mappings as a map: its MCP example puts target_prefix there.
    const upstreamMcp = `version: "openagentio.bridge/v1"
bridges:
  - name: "mcp-fs"
    type: "mcp_tool"
    config:
      transport: "stdio"
      command: "npx"
      args: ["-y", "@modelcontextprotocol/server-filesystem", "/tmp"]
      env:
        NODE_ENV: "production"
      timeout: 10
    mappings:
      target_prefix: "mcp-fs"
`;
    const doc = loadBridgeConfig(upstreamMcp);
    assert.deepEqual(doc.bridges[0].mappings, { target_prefix: 'mcp-fs' });
    const [mcp] = buildBridges({ config: { text: upstreamMcp } });
    assert.equal((mcp as McpToolBridge).config.target_prefix, 'mcp-fs', 'the MCP bridge takes target_prefix from mappings');
    assert.equal((mcp as McpToolBridge).config.timeout_ms, 10_000, 'upstream timeout is in seconds');
    // Upstream's HTTP example: http_url, and timeout in seconds.
    const [http] = buildBridges({
      config: {
        version: 'openagentio.bridge/v1',
        bridges: [
          {
            name: 'mcp-http',
            type: 'mcp_tool',
            config: { transport: 'streamable_http', http_url: 'http://127.0.0.1:9/mcp', headers: { 'X-Custom-Header': 'x' }, timeout: 30 },
            mappings: { target_prefix: 'mcp-http' },
          },
        ],
      },
    });
    assert.equal((http as McpToolBridge).config.target_prefix, 'mcp-http');
    assert.equal((http as McpToolBridge).config.url, 'http://127.0.0.1:9/mcp');
    assert.equal((http as McpToolBridge).config.timeout_ms, 30_000);
    const listed = loadBridgeConfig({
      version: 'openagentio.bridge/v1',
      bridges: [{ name: 'a', type: 'x', mappings: [{ event_prefix: 'm' }, { session_strategy: 'room', event_prefix: 'n' }] }],
    });
    assert.deepEqual(listed.bridges[0].mappings, { event_prefix: 'n', session_strategy: 'room' });
    assert.throws(
      () => loadBridgeConfig({ version: 'openagentio.bridge/v1', bridges: [{ name: 'a', type: 'x', mappings: 'room' }] }),
      /bridges\[0\]\.mappings must be a mapping \(or a list of mappings\)/,
    );
    assert.throws(
      () => loadBridgeConfig({ version: 'openagentio.bridge/v1', bridges: [{ name: 'a', type: 'x', mappings: [{ a: 1 }, 'b'] }] }),
      /bridges\[0\]\.mappings\[1\] must be a mapping/,
    );
  });

  it('buildBridges: built-in openclaw_chat_sse, unknown types and missing required config keys', () => {
    const bridges = buildBridges({ config: yamlDoc, env: { LLM_TOKEN: 'k' } });
    assert.equal(bridges.length, 1);
    assert.ok(bridges[0] instanceof OpenClawChatSseBridge);
    assert.equal(bridges[0].name, 'llm');
    assert.throws(
      () => buildBridges({ config: { version: 'openagentio.bridge/v1', bridges: [{ name: 'x', type: 'slack_event' }] } }),
      (e: Error) => e instanceof BridgeConfigError && /bridges\[0\]\.type: unknown bridge type "slack_event"/.test(e.message),
    );
    assert.throws(
      () =>
        buildBridges({ config: { version: 'openagentio.bridge/v1', bridges: [{ name: 'llm', type: 'openclaw_chat_sse', config: {} }] } }),
      (e: Error) => e instanceof BridgeConfigError && /config\.base_url is required/.test(e.message),
    );
    assert.throws(
      () =>
        buildBridges({
          config: yamlDoc,
          env: { LLM_TOKEN: 'k' },
          bridges: [{ name: 'llm', type: 'openclaw_chat_sse', config: { base_url: 'http://x/v1' } }],
        }),
      /duplicate bridge name "llm"/,
    );
    const custom = buildBridges({
      bridges: [{ name: 'c', type: 'custom', config: { a: 1 } }],
      factories: { custom: (def) => ({ name: def.name, type: def.type, start: async () => {}, stop: async () => {} }) },
    });
    assert.equal(custom[0].type, 'custom');
  });
});

describe('bridge factory registry', () => {
  it('knows openclaw_chat_sse and mcp_tool built in, and takes registered factories', async () => {
    const { builtinBridgeFactories } = await import('@openagentio/nestjs-bridges/internal/builtin-factories.js');
    const { registerBridgeFactory } = await import('@openagentio/nestjs-bridges');
    assert.deepEqual(Object.keys(builtinBridgeFactories()).sort(), ['matrix_event', 'mcp_tool', 'openclaw_chat_sse']);
    registerBridgeFactory('registered_type', (def) => ({ name: def.name, type: def.type, start: async () => {}, stop: async () => {} }));
    const [b] = buildBridges({ config: { version: 'openagentio.bridge/v1', bridges: [{ name: 'r', type: 'registered_type' }] } });
    assert.equal(b.type, 'registered_type');
  });
});

describe('docs/bridges.md', () => {
  it('its example bridges.yaml loads and builds', async () => {
    const { readFileSync } = await import('node:fs');
    const root = new URL('../../../', import.meta.url).pathname;
    const md = readFileSync(`${root}docs/bridges.md`, 'utf8');
    const block = md.match(/```yaml\n# bridges\.yaml\n([\s\S]*?)```/);
    assert.ok(block, 'docs/bridges.md has the bridges.yaml example');
    const bridges = buildBridges({ config: { text: block![1] }, env: { LLM_TOKEN: 'sk-x' } });
    assert.deepEqual(
      bridges.map((b) => [b.name, b.type]),
      [
        ['llm', 'openclaw_chat_sse'],
        ['fs', 'mcp_tool'],
      ],
    );
    assert.equal((bridges[0] as OpenClawChatSseBridge).config.base_url, 'http://127.0.0.1:11434/v1');
  });
});
