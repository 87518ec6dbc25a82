import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { NatsTransport } from '@openagentio/nestjs';
import { NatsServer } from '../support/nats-server.js';
import { RecordingLogger } from '../nats/helpers.js';

describe('an app on a NATS server without authentication says so once (docs/security.md)', () => {
  let open: NatsServer;
  let closed: NatsServer;

  before(async () => {
    [open, closed] = await Promise.all([
      NatsServer.start(),
      NatsServer.start({
        authorization: 'authorization { users: [ { user: "a", password: $OPEN_TEST_PW } ] }',
        env: { OPEN_TEST_PW: 'pw' },
      }),
    ]);
  });
  after(async () => {
    await Promise.all([open?.stop(), closed?.stop()]);
  });

  it('warns once per logger on an open server, not on a server that authenticates', async () => {
    const logger = new RecordingLogger();
    const warned = (l: RecordingLogger) => l.lines.filter((x) => /open account/.test(x));
    for (let i = 0; i < 2; i++) {
      const t = new NatsTransport({ servers: open.url, logger });
      await t.connect();
      await t.close();
    }
    assert.equal(warned(logger).length, 1, 'once, not per connection');
    assert.match(warned(logger)[0], /requires no authentication.*nats-permissions/);

    const authed = new RecordingLogger();
    const t = new NatsTransport({ servers: closed.url, user: 'a', pass: 'pw', logger: authed });
    await t.connect();
    await t.close();
    assert.deepEqual(warned(authed), []);

    const silenced = new RecordingLogger();
    const s = new NatsTransport({ servers: open.url, logger: silenced, warnOpenAccount: false });
    await s.connect();
    await s.close();
    assert.deepEqual(warned(silenced), []);
  });
});
