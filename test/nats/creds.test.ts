import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NatsTransportOptions } from '@openagentio/nestjs';
import { TestOperator } from '../support/nats-jwt.js';
import { NatsServer } from '../support/nats-server.js';
import { isAuthFailure, NatsClients } from './helpers.js';

describe('NATS decentralised auth: a .creds file (operator, account and user JWTs on a real nats-server)', () => {
  const op = new TestOperator();
  const dir = mkdtempSync(join(tmpdir(), 'acp-creds-'));
  const creds = (name: string, text: string) => {
    const path = join(dir, `${name}.creds`);
    writeFileSync(path, text, { mode: 0o600 });
    return path;
  };
  let server: NatsServer;
  const clients = new NatsClients({ reconnect: false });
  const client = (agentId: string, opts: NatsTransportOptions) => clients.bus(agentId, opts);
  const refused = (opts: NatsTransportOptions) => clients.refused(opts);

  before(async () => {
    server = await NatsServer.start({ extraConfig: op.serverConfig() });
  });
  after(async () => {
    await clients.closeAll();
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a user .creds file authenticates, and two agents call each other', async () => {
    const a = client('agent-a', { servers: server.url, credsFile: creds('a', op.userCreds('agent-a')) });
    const b = client('agent-b', { servers: server.url, credsFile: creds('b', op.userCreds('agent-b')) });
    await a.connect();
    await b.connect();
    a.handleInvoke('creds.add', (p: { x: number; y: number }) => p.x + p.y);
    await a.transport.flush();
    assert.equal(await b.invoke('creds.add', { x: 2, y: 3 }), 5);
  });

  it('no credentials, or a user of an account the operator never signed, fail at connect with AUTH_FAILURE', async () => {
    await assert.rejects(refused({ servers: server.url }), isAuthFailure(/Authorization Violation/));
    await assert.rejects(
      refused({ servers: server.url, credsFile: creds('stranger', op.strangerCreds('stranger')) }),
      isAuthFailure(/Authorization Violation/),
    );
  });

  it('an expired user JWT fails at connect with AUTH_FAILURE', async () => {
    const expired = creds('expired', op.userCreds('late', { exp: Math.floor(Date.now() / 1000) - 60 }));
    // The server does not say why; the same operator's unexpired users connect (first test).
    await assert.rejects(refused({ servers: server.url, credsFile: expired }), isAuthFailure(/Authorization Violation/));
  });

  it("the JWT's permissions are enforced: a denied publish fails the invoke at once with AUTH_FAILURE", async () => {
    const owner = client('owner', { servers: server.url, credsFile: creds('owner', op.userCreds('owner')) });
    const limited = client('limited', {
      servers: server.url,
      credsFile: creds('limited', op.userCreds('limited', { pub: { deny: ['acp.v1.invoke.creds.secret'] } })),
    });
    await owner.connect();
    await limited.connect();
    owner.handleInvoke('creds.secret', () => 'classified');
    owner.handleInvoke('creds.public', () => 'open');
    await owner.transport.flush();
    const t0 = Date.now();
    await assert.rejects(
      limited.invoke('creds.secret', {}, { timeout: 10_000 }),
      isAuthFailure(/may not publish to "acp\.v1\.invoke\.creds\.secret"/),
    );
    assert.ok(Date.now() - t0 < 2000, 'failed at once, not at the deadline');
    assert.equal(await limited.invoke('creds.public'), 'open');
  });

  it('a credsFile that cannot be read, or is not a creds file, fails at connect with AUTH_FAILURE naming the file', async () => {
    const missing = join(dir, 'nope.creds');
    await assert.rejects(
      refused({ servers: server.url, credsFile: missing }),
      isAuthFailure(/credentials file .*nope\.creds cannot be read: ENOENT/),
    );
    const garbage = creds('garbage', 'USER=alice\nPASSWORD=hunter2\n');
    await assert.rejects(
      refused({ servers: server.url, credsFile: garbage }),
      isAuthFailure(/credentials file .*garbage\.creds is not a \.creds file/),
    );
    // A JWT block without the seed block is not enough either.
    const half = creds('half', op.userCreds('half').split('************************* IMPORTANT')[0]);
    await assert.rejects(refused({ servers: server.url, credsFile: half }), isAuthFailure(/half\.creds is not a \.creds file/));
  });
});
