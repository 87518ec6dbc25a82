import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { nkeys } from '@nats-io/transport-node';
import { agentInboxPrefix, BusClient, credentialVariable, NatsTransport, natsServerAuthorization, type AppSpec } from '@openagentio/nestjs';
import { NatsServer } from '../support/nats-server.js';
import { quietLogger } from '../nats/helpers.js';

const app: AppSpec = {
  agents: [
    { agentId: 'caller', calls: ['svc.echo'], publishes: [] },
    { agentId: 'svc', serves: ['svc.echo'], calls: [], publishes: [] },
  ],
};

describe('nkey users (nats-permissions --nkey): public keys from the environment, seeds with the agents', () => {
  const keys = new Map(app.agents.map((a) => [a.agentId, nkeys.createUser()]));
  const seed = (id: string) => new TextDecoder().decode(keys.get(id)!.getSeed());
  let server: NatsServer;
  const buses: BusClient[] = [];

  before(async () => {
    const conf = natsServerAuthorization(app, 'nkey');
    assert.match(conf, /nkey: \$NATS_NKEY_CALLER/);
    assert.doesNotMatch(conf, /\bU[A-Z2-7]{55}\b/, 'no key in the file');
    server = await NatsServer.start({
      authorization: conf,
      env: Object.fromEntries(app.agents.map((a) => [credentialVariable(a.agentId, 'nkey'), keys.get(a.agentId)!.getPublicKey()])),
    });
  });
  after(async () => {
    await Promise.all(buses.map((b) => b.close()));
    await server?.stop();
  });

  it('each agent connects with its seed and the call between them works; a wrong seed is refused', async () => {
    const make = (id: string, nkeySeed: string) => {
      const b = new BusClient(
        new NatsTransport({ servers: server.url, nkeySeed, inboxPrefix: agentInboxPrefix(id), logger: quietLogger }),
        {
          agentId: id,
          logger: quietLogger,
        },
      );
      buses.push(b);
      return b;
    };
    const svc = make('svc', seed('svc'));
    const caller = make('caller', seed('caller'));
    await svc.connect();
    await caller.connect();
    svc.handleInvoke('svc.echo', (p) => p);
    await svc.transport.flush();
    assert.deepEqual(await caller.invoke('svc.echo', { n: 1 }), { n: 1 });
    const stranger = new TextDecoder().decode(nkeys.createUser().getSeed());
    await assert.rejects(make('x', stranger).connect(), /AUTH_FAILURE|rejected the credentials|Authorization/);
  });
});
