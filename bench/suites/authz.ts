import { agentInboxPrefix, appPermissions, NatsTransport, type AppSpec } from '@openagentio/nestjs';
import { startNatsServer, type BenchNatsServer } from '../lib/nats-server.js';
import { BusPair, ECHO, HOLD, STREAM, STREAM_DEFERRED } from '../stacks/bus.js';
import type { InvokeStack } from '../stacks/types.js';

const PASSWORD = 'bench-pw';

/**
 * The cost of the server's permission checks on the invoke hot path (docs/security.md): one nats-server with
 * authorization, two bus pairs on it, measured interleaved by the invoke suite. `authz.perm`: caller and responder
 * users with the permissions `appPermissions()` generates (publish/subscribe allow lists, allow_responses on every
 * reply); `authz.open`: users of the same server with no permissions (another subject prefix, so the pairs' queue
 * groups stay apart).
 */
export async function authzStacks(): Promise<{ stacks: Map<string, InvokeStack>; close: () => Promise<void> }> {
  const app: AppSpec = {
    agents: [
      { agentId: 'bench-server', serves: [ECHO, STREAM, HOLD, STREAM_DEFERRED], calls: [], publishes: [] },
      { agentId: 'bench-client', calls: [ECHO, STREAM, HOLD], publishes: [] },
    ],
  };
  const users = appPermissions(app).map(
    (p) => `{ user: ${JSON.stringify(p.user)}, password: ${PASSWORD}, permissions: ${JSON.stringify(p.permissions)} }`,
  );
  users.push(`{ user: open, password: ${PASSWORD} }`);
  const server: BenchNatsServer = await startNatsServer({ extraConfig: `authorization { users: [\n${users.join('\n')}\n] }` });
  const perm = await BusPair.create(
    'authz.perm',
    (role) =>
      new NatsTransport({
        servers: server.url,
        name: `bench-authz-${role}`,
        user: `bench-${role}`,
        pass: PASSWORD,
        inboxPrefix: agentInboxPrefix(`bench-${role}`),
        warnOpenAccount: false,
      }),
  );
  const open = await BusPair.create(
    'authz.open',
    (role) => new NatsTransport({ servers: server.url, name: `bench-open-${role}`, user: 'open', pass: PASSWORD }),
    {
      subjectPrefix: 'open.v1',
    },
  );
  const stacks = new Map<string, InvokeStack>([
    ['authz.perm', perm.invokeStack('bus, generated permissions')],
    ['authz.open', open.invokeStack('bus, user without permissions')],
  ]);
  return {
    stacks,
    close: async () => {
      await perm.close();
      await open.close();
      await server.stop();
    },
  };
}
