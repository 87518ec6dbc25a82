import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BusError, NatsTransport } from '@openagentio/nestjs';
import { createTransport } from '@openagentio/nestjs/internal/module/create-transport.js';

const refused = (servers: string | string[], message: RegExp) =>
  assert.throws(
    () => new NatsTransport({ servers }),
    (e: BusError) => e instanceof BusError && e.code === 'INVALID_REQUEST' && message.test(e.message),
  );

describe('NATS server URLs: a wrong one is refused at once, naming it', () => {
  it('http:// and other schemes NATS does not speak', () => {
    refused(
      'http://127.0.0.1:4222',
      /"http:\/\/127\.0\.0\.1:4222" has the scheme "http:\/\/", which NATS does not speak: use nats:\/\/host:4222/,
    );
    refused(['nats://127.0.0.1:4222', 'https://127.0.0.1:4222'], /scheme "https:\/\/"/);
    refused('ws://127.0.0.1:8080', /scheme "ws:\/\/"/);
  });

  it('a scheme without its colon gets a hint', () => {
    refused('nats//127.0.0.1:4222', /the scheme is written "nats:\/\/" \(did you mean "nats:\/\/127\.0\.0\.1:4222"\?\)/);
    refused('tls:/127.0.0.1:4222', /did you mean "tls:\/\/127\.0\.0\.1:4222"/);
  });

  it('not a host:port, or a port out of range', () => {
    refused('nats://127.0.0.1:4222/path/x', /is not a NATS URL/);
    refused('nats://127.0.0.1:99999', /port 99999 is out of range/);
  });

  it('credentials never appear in the error', () => {
    assert.throws(
      () => new NatsTransport({ servers: 'http://admin:hunter2@127.0.0.1:4222' }),
      (e: Error) => /"http:\/\/\*\*\*@127\.0\.0\.1:4222"/.test(e.message) && !/hunter2/.test(e.message),
    );
  });

  it('the forms NATS accepts pass', () => {
    for (const ok of [
      'nats://127.0.0.1:4222',
      'tls://nats.internal:4443',
      '127.0.0.1:4222',
      'localhost',
      'nats://u:p@[::1]:4222',
      ' nats://127.0.0.1 ',
    ]) {
      assert.doesNotThrow(() => new NatsTransport({ servers: ok }), ok);
    }
  });

  it('NATS_URL goes through the same check (BusModule without a transport option)', async () => {
    await assert.rejects(createTransport(undefined, { NATS_URL: 'http://127.0.0.1:4222' }), /which NATS does not speak/);
    await assert.rejects(createTransport(undefined, { NATS_URL: 'nats//127.0.0.1:4222' }), /did you mean/);
  });
});
