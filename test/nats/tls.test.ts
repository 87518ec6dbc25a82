import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { BusError, type NatsTransportOptions } from '@openagentio/nestjs';
import { NatsServer } from '../support/nats-server.js';
import { isFinalError, NatsClients } from './helpers.js';

// Test-only certificates (test/fixtures/tls/README.md says how they were made).
const TLS_DIR = fileURLToPath(new URL('../../../test/fixtures/tls/', import.meta.url));
const file = (name: string) => `${TLS_DIR}${name}`;

const serverTls = (verifyClients: boolean) => `tls {
  cert_file: "${file('server.pem')}"
  key_file: "${file('server-key.pem')}"
  ca_file: "${file('ca.pem')}"
  verify: ${verifyClients}
  timeout: 2
}`;

// A certificate problem is configuration: a clear TRANSPORT_FAILURE that says what to set, and not retryable.
const isTlsFailure = (re: RegExp) => isFinalError('TRANSPORT_FAILURE', re);

describe('NATS over TLS (a real nats-server with a test CA)', () => {
  let tlsServer: NatsServer;
  let mtlsServer: NatsServer;
  const clients = new NatsClients({ reconnect: false });
  const client = (agentId: string, opts: NatsTransportOptions) => clients.bus(agentId, opts);
  const refused = (opts: NatsTransportOptions) => clients.refused(opts);

  before(async () => {
    [tlsServer, mtlsServer] = await Promise.all([
      NatsServer.start({ extraConfig: serverTls(false) }),
      NatsServer.start({ extraConfig: serverTls(true) }),
    ]);
  });
  after(async () => {
    await clients.closeAll();
    await Promise.all([tlsServer?.stop(), mtlsServer?.stop()]);
  });

  it('trusting the CA by file, a bus connects and an invoke and a stream cross the TLS connection', async () => {
    const server = client('tls-server', { servers: tlsServer.url, tls: { caFile: file('ca.pem') } });
    const caller = client('tls-caller', { servers: tlsServer.url, tls: { caFile: file('ca.pem') } });
    await server.connect();
    await caller.connect();
    server.handleInvoke('tls.echo', (p: { text: string }) => ({ echoed: p.text }));
    server.handleStream('tls.count', async (p: { n: number }, ctx) => {
      for (let i = 0; i < p.n; i++) await ctx.writer.delta(String(i));
      return 'done';
    });
    await server.transport.flush();
    assert.deepEqual(await caller.invoke('tls.echo', { text: 'über TLS' }), { echoed: 'über TLS' });
    assert.equal(await caller.stream('tls.count', { n: 5 }).text(), '01234');
  });

  it('the CA may be given as PEM text instead of a file', async () => {
    const c = client('tls-pem', { servers: tlsServer.url, tls: { ca: readFileSync(file('ca.pem'), 'utf8') } });
    await c.connect();
    assert.equal(c.transport.status, 'connected');
  });

  it('a client that trusts another CA refuses the server at connect, saying the CA is not trusted and what to set', async () => {
    await assert.rejects(
      refused({ servers: tlsServer.url, tls: { caFile: file('other-ca.pem') } }),
      isTlsFailure(/unable to verify the first certificate.*not signed by a CA this client trusts.*tls\.caFile/),
    );
  });

  it('without TLS options a TLS-only server is still reached over TLS, and its unknown CA refused', async () => {
    // nats.js upgrades to TLS when the server requires it; the system CAs do not know the test CA.
    await assert.rejects(refused({ servers: tlsServer.url }), isTlsFailure(/not signed by a CA this client trusts/));
  });

  it('mutual TLS: a client certificate signed by the CA is accepted; without one the server refuses the client', async () => {
    const c = client('mtls', {
      servers: mtlsServer.url,
      tls: { caFile: file('ca.pem'), certFile: file('client.pem'), keyFile: file('client-key.pem') },
    });
    await c.connect();
    c.handleInvoke('mtls.ping', () => 'pong');
    await c.transport.flush();
    assert.equal(await c.invoke('mtls.ping'), 'pong');
    // The server sends a TLS alert and closes: the client reads either the alert (then a certificate problem, not
    // retryable) or, as often, the reset first (then retryable, since a reset may be the network); both say what
    // to set. Whichever way an attempt goes is asserted exactly; 20 attempts usually see both.
    for (let i = 0; i < 20; i++) {
      await assert.rejects(refused({ servers: mtlsServer.url, tls: { caFile: file('ca.pem') } }), (e: unknown) => {
        assert.ok(e instanceof BusError, String(e));
        assert.equal(e.code, 'TRANSPORT_FAILURE');
        if (/ECONNRESET/.test(e.message)) {
          assert.equal(e.retryable, true);
          assert.match(
            e.message,
            /ECONNRESET; the server closed the connection during the TLS handshake \(if it verifies client certificates, set tls\.certFile and tls\.keyFile/,
          );
        } else {
          assert.equal(e.retryable, false);
          assert.match(
            e.message,
            /the server refused this client's certificate or its absence \(ERR_SSL_[\w/]+\); set tls\.certFile and tls\.keyFile/,
          );
        }
        return true;
      });
    }
  });
});
