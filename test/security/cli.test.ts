import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { natsPermissionsCommand, parseArgs } from '@openagentio/nestjs/internal/cli/nats-permissions-command.js';

describe('openagentio nats-permissions: arguments and the JSON path', () => {
  const dir = mkdtempSync(join(tmpdir(), 'oaio-cli-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('refuses unknown arguments and a missing source, naming the usage', () => {
    assert.throws(() => parseArgs([]), /give --agents, --app or both[\s\S]*Usage: openagentio nats-permissions/);
    assert.throws(() => parseArgs(['--agents', 'a.json', '--bogus']), /unknown argument "--bogus"/);
    assert.throws(() => parseArgs(['--agents', 'a.json', '--format', 'yaml']), /unknown format "yaml"/);
    assert.throws(() => parseArgs(['--agents']), /--agents needs a value/);
  });

  it('prints the users of an AppSpec file with a policy file, as conf, nsc or json', async () => {
    writeFileSync(
      join(dir, 'app.json'),
      JSON.stringify({
        agents: [
          { agentId: 'router', calls: ['billing.*', 'worker.*'] },
          { agentId: 'billing', serves: ['billing.charge'], calls: [] },
        ],
      }),
    );
    writeFileSync(join(dir, 'policy.json'), JSON.stringify([{ name: 'no-billing', callers: ['router'], deny: ['billing.>'] }]));
    const args = ['--agents', join(dir, 'app.json'), '--policy', join(dir, 'policy.json')];
    const conf = await natsPermissionsCommand([...args, '--format', 'conf'], '');
    assert.match(conf, /^authorization \{$/m);
    assert.match(conf, /user: "router", password: \$NATS_PASS_ROUTER/);
    assert.match(conf, /"deny": \[\s*"acp\.v1\.invoke\.billing\.>"/);
    assert.doesNotMatch(conf, /nsc add user/);
    const nsc = await natsPermissionsCommand([...args, '--format', 'nsc', '--account', 'SHOP'], '');
    assert.match(nsc, /nsc add user --account SHOP --name "billing"/);
    assert.match(nsc, /--deny-pub 'acp\.v1\.invoke\.billing\.>,acp\.v1\.cancel\.billing\.>,/);
    const json = JSON.parse(await natsPermissionsCommand([...args, '--format', 'json', '--nkey'], '')) as {
      users: Array<{ user: string; rules: Array<{ rule: string }> }>;
    };
    assert.deepEqual(
      json.users.map((u) => u.user),
      ['router', 'billing'],
    );
    assert.match(json.users[0].rules[0].rule, /rule "no-billing"/);
    await assert.rejects(natsPermissionsCommand(['--agents', join(dir, 'missing.json')], ''), /ENOENT/);
  });
});
