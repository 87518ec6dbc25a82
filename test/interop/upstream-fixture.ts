import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import { BusClient, NatsTransport, type BusClientOptions } from '@openagentio/nestjs';
import { RecordingLogger } from '../support/bus-fixture.js';
import { NatsServer } from '../support/nats-server.js';
import { WireSniffer } from '../support/wire-sniffer.js';

// What the interop suites against the upstream Python SDK and Go runtime share: the context every call carries,
// and a nats-server of the test's own with the wire sniffer and our bus beside the peers.

export const TENANT = 'acme';
export const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
export const SPAN_ID = '00f067aa0ba902b7';
export const TRACEPARENT = `00-${TRACE_ID}-${SPAN_ID}-01`;
export const TRACE = { traceparent: TRACEPARENT, trace_id: TRACE_ID, span_id: SPAN_ID };
export const SESSION = { session_id: 'sess-42', conversation_id: 'conv-7', tenant_id: TENANT, user_id: 'user-9', channel: 'web' };
/** Every session and trace field, as both sides must carry them. */
export const CONTEXT = { ...SESSION, ...TRACE };
export const CONTEXT_KEYS = Object.keys(CONTEXT) as Array<keyof typeof CONTEXT>;

/** An envelope as it crossed the wire. */
export type Wire = Record<string, any>;

/** The given fields of an envelope (undefined where absent). */
export function pick(env: Wire | undefined, keys: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of keys) out[k] = env?.[k];
  return out;
}

/** A peer process of the suite (a Python or Go program). */
export interface UpstreamPeer {
  stop(): Promise<unknown>;
}

export interface UpstreamFixture<P extends UpstreamPeer> {
  nats: NatsServer;
  sniffer: WireSniffer;
  bus: BusClient;
  log: RecordingLogger;
  /** The peer serving targets, when asked for. */
  server: P;
  /** The peer calling ours, when asked for. */
  caller: P;
}

export interface UpstreamSetupOptions {
  maxPayload?: number;
  server?: boolean;
  caller?: boolean;
  bus?: Partial<BusClientOptions>;
  /** The sniffer's subjects (default every subject). */
  sniff?: string[];
}

/**
 * A nats-server of the test's own, the sniffer, our bus (agent `nest`, tenant `acme`) and the peers asked for,
 * started by `start(role, url, args)` with `--tenant acme`; all stopped when the test ends.
 */
export async function upstreamSetup<P extends UpstreamPeer>(
  t: TestContext,
  options: UpstreamSetupOptions,
  start: (role: 'server' | 'caller', natsUrl: string, tenantArgs: string[]) => Promise<P>,
): Promise<UpstreamFixture<P>> {
  const f = {} as UpstreamFixture<P>;
  t.after(async () => {
    await Promise.all([f.server?.stop(), f.caller?.stop()]);
    await f.bus?.close();
    await f.sniffer?.close();
    await f.nats?.stop();
  });
  f.nats = await NatsServer.start({ maxPayload: options.maxPayload });
  f.sniffer = await WireSniffer.start(f.nats.url, options.sniff);
  f.log = new RecordingLogger();
  f.bus = new BusClient(new NatsTransport({ servers: f.nats.url, logger: f.log }), {
    agentId: 'nest',
    tenant: TENANT,
    logger: f.log,
    ...options.bus,
  });
  const args = ['--tenant', TENANT];
  const [server, caller] = await Promise.all([
    options.server ? start('server', f.nats.url, args) : undefined,
    options.caller ? start('caller', f.nats.url, args) : undefined,
    f.bus.connect(),
  ]);
  if (server) f.server = server;
  if (caller) f.caller = caller;
  return f;
}

/**
 * What both upstream runtimes need of the wire, checked after a test: every envelope valid against the upstream
 * schema; nothing sent to the peer (its inboxes, its `<targetPrefix>.*` invoke subjects, event subjects) with NATS
 * headers, an empty body (a chunk stub) or an acp.control.* event type; no acp.* metadata in a reply to it; our
 * bus counted no invalid message. Each suite adds what is particular to its peer.
 */
export async function assertWireReadableUpstream(
  f: UpstreamFixture<UpstreamPeer>,
  peer: { name: string; agentPrefix: string; targetPrefix: string },
): Promise<void> {
  await f.bus.transport.flush();
  await f.sniffer.flush();
  // Discovery announcements on `acp.v1.discovery.changed.*` are envelopes too; only the NATS Services API ($SRV.*,
  // not ours to shape) is skipped, by the sniffer itself.
  const invalid = f.sniffer.invalid();
  assert.deepEqual(
    invalid.map((m) => `${m.subject}: ${m.problems.join('; ')} ${m.body.slice(0, 200)}`),
    [],
    'every envelope that crossed the wire is valid against the upstream schema',
  );
  const peerInboxes = new Set(
    f.sniffer.messages
      .filter(
        (m) => typeof m.envelope?.from === 'string' && (m.envelope.from as string).startsWith(peer.agentPrefix) && m.envelope.reply_to,
      )
      .map((m) => m.envelope!.reply_to as string),
  );
  const invokeOfPeer = new RegExp(`^acp\\.v1\\.([^.]+\\.)?invoke\\.${peer.targetPrefix}\\.`);
  const toPeer = f.sniffer.messages.filter(
    (m) => peerInboxes.has(m.subject) || invokeOfPeer.test(m.subject) || /^acp\.v1\.([^.]+\.)?events\./.test(m.subject),
  );
  for (const m of toPeer) {
    assert.equal(m.headers, false, `no NATS headers to the ${peer.name} peer (${m.subject})`);
    assert.ok(m.body.length > 0, `no chunk stub (empty body) to the ${peer.name} peer (${m.subject})`);
    assert.ok(!String(m.envelope?.event_type).startsWith('acp.control.'), `no control frame to the ${peer.name} peer (${m.subject})`);
    if (peerInboxes.has(m.subject)) {
      const acpKeys = Object.keys((m.envelope?.metadata as object) ?? {}).filter((k) => k.startsWith('acp.'));
      assert.deepEqual(acpKeys, [], `no acp.* metadata in a reply to the ${peer.name} peer (${m.subject})`);
    }
  }
  assert.equal(f.bus.stats.invalidMessages, 0, `our bus got invalid messages:\n${f.log.lines.join('\n')}`);
}
