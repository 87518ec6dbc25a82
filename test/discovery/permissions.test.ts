import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { BusClient, DiscoveryClient, NatsTransport } from '@openagentio/nestjs';
import { quietLogger, RecordingLogger } from '../nats/helpers.js';
import { NatsServer } from '../support/nats-server.js';

// dave may use the Services API; erin may not. Both may subscribe only below their own inbox prefix.
const USERS = `authorization {
  users = [
    { user: dave, password: "dave-pw", permissions: { publish: { allow: [">"] }, subscribe: { allow: ["acp.>", "_INBOX_dave.>", "$SRV.>"] } } }
    { user: erin, password: "erin-pw", permissions: { publish: { allow: [">"] }, subscribe: { allow: ["acp.>", "_INBOX_erin.>"] } } }
  ]
}`;

describe('discovery under NATS permissions', () => {
  let server: NatsServer;
  const buses: BusClient[] = [];
  const bus = async (user: string, agentId: string, logger = quietLogger): Promise<BusClient> => {
    const b = new BusClient(new NatsTransport({ servers: server.url, user, pass: `${user}-pw`, inboxPrefix: `_INBOX_${user}`, logger }), {
      agentId,
      logger,
    });
    await b.connect();
    buses.push(b);
    return b;
  };

  before(async () => {
    server = await NatsServer.start({ extraConfig: USERS });
  });

  after(async () => {
    for (const b of buses) await b.close();
    await server?.stop();
  });

  it('a DiscoveryClient gathers answers on an inbox under its transport inboxPrefix', async () => {
    const served = await bus('dave', 'dave.agent');
    await served.handleInvoke('dave.echo', (p: unknown) => p).ready;
    const asker = await bus('dave', 'dave.asker');
    const agents = await new DiscoveryClient(asker, { gap: 100 }).list();
    assert.deepEqual(agents.map((a) => a.agentId).sort(), ['dave.agent', 'dave.asker']);
  });

  it('a bus whose user may not subscribe to $SRV.> works on, unlisted, and says why once', async () => {
    const logger = new RecordingLogger();
    const erin = await bus('erin', 'erin.agent', logger);
    await erin.handleInvoke('erin.echo', (p: unknown) => p).ready;
    await logger.waitFor(/discovery: the NATS server refused a Services API subscription/);
    assert.equal(await erin.invoke('erin.echo', 'still here'), 'still here');
    const dave = await bus('dave', 'dave.viewer');
    const ids = (await new DiscoveryClient(dave, { gap: 100 }).list()).map((a) => a.agentId);
    assert.ok(!ids.includes('erin.agent'), ids.join(','));
    assert.equal(logger.lines.filter((l) => l.startsWith('discovery:')).length, 1);
  });
});
