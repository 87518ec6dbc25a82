// The Matrix bridge's room events made durable by configuration (`durable_events: true`): the publish it makes for a
// room event, on a real bus (memory transport, its durable log). The bridge against Synapse is test/matrix.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { BusClient, MemoryBroker, MemoryTransport } from '@openagentio/nestjs';
import type { BridgeDefinition } from '@openagentio/nestjs-bridges';
import { parseMatrixConfig } from '@openagentio/nestjs-bridges/internal/matrix/matrix-config.js';
import { durablePublisher } from '@openagentio/nestjs-bridges/internal/matrix/matrix-events.js';
import { RecordingLogger, until } from '../support/bus-fixture.js';

const def = (config: Record<string, unknown> = {}): BridgeDefinition => ({
  name: 'mx',
  type: 'matrix_event',
  config: { homeserver_url: 'http://127.0.0.1:8008', access_token: 't', user_id: '@bot:hs', room_ids: ['!r:hs'], ...config },
});

describe('Matrix durable_events', () => {
  const broker = new MemoryBroker();
  let bridgeBus: BusClient;
  let agent: BusClient;
  before(async () => {
    bridgeBus = new BusClient(new MemoryTransport({ broker, validate: true }), { agentId: 'bridge', logger: new RecordingLogger() });
    agent = new BusClient(new MemoryTransport({ broker, validate: true }), { agentId: 'agent', logger: new RecordingLogger() });
    await bridgeBus.connect();
    await agent.connect();
  });
  after(async () => {
    await bridgeBus.close();
    await agent.close();
  });

  it('is off by default; "durable_events" must be a boolean', () => {
    assert.equal(parseMatrixConfig(def()).durableEvents, false);
    assert.equal(parseMatrixConfig(def({ durable_events: true })).durableEvents, true);
    assert.throws(() => parseMatrixConfig(def({ durable_events: 'yes' })), /durable_events/);
    assert.equal(durablePublisher(bridgeBus, parseMatrixConfig(def()), '!r:hs', '$e1'), bridgeBus, 'off: the bus itself');
  });

  it('on: a room event is a durable publish, stored once when the same room event is published again', async () => {
    const cfg = parseMatrixConfig(def({ durable_events: true }));
    const durable: string[] = [];
    const core: string[] = [];
    await agent.subscribe('matrix.message.received', (p: { text: string }) => void durable.push(p.text), { durable: 'mx-agent' }).ready;
    await agent.subscribe('matrix.message.received', (p: { text: string }) => void core.push(p.text)).ready;
    const first = await durablePublisher(bridgeBus, cfg, '!r:hs', '$e1').publish('matrix.message.received', { text: 'hello' });
    // A restart that syncs the same room event again.
    const again = await durablePublisher(bridgeBus, cfg, '!r:hs', '$e1').publish('matrix.message.received', { text: 'hello' });
    const other = await durablePublisher(bridgeBus, cfg, '!r:hs', '$e2').publish('matrix.message.received', { text: 'bye' });
    assert.equal(again.event_id, first.event_id);
    assert.notEqual(other.event_id, first.event_id);
    assert.match(first.event_id, /^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    await until(() => durable.length >= 2 && core.length >= 2);
    assert.deepEqual(durable, ['hello', 'bye']);
  });
});
