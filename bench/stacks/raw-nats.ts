import { connect, type NatsConnection } from '@nats-io/transport-node';
import type { InvokeStack, PubSubStack } from './types.js';
import { nowUs, sleep } from '../lib/measure.js';
import { eventEnvelope } from './raw-envelope.js';

/** The subject the raw responder of the split-process figures answers on (bench/split-responder.ts). */
export const RAW_SPLIT_SUBJECT = 'bench.raw.split.echo';

/** The caller half of the raw stack: nc.request() with default options to `subject`. */
export async function rawNatsCaller(url: string, subject: string): Promise<InvokeStack> {
  const client = await connect({ servers: url, name: 'bench-raw-requester' });
  return {
    name: 'raw nc.request()',
    invoke: async (payload) => (await client.request(subject, JSON.stringify(payload), { timeout: 10_000 })).json(),
    close: () => client.close(),
  };
}

/**
 * Raw @nats-io/transport-node: a responder connection answering with msg.respond and a requester using
 * nc.request(), both JSON-encoding and decoding, default connect options (as an application would write it).
 */
export async function rawNatsInvokeStack(url: string, opts: { name?: string; noAsyncTraces?: boolean } = {}): Promise<InvokeStack> {
  const subject = `bench.raw.echo.${Math.random().toString(36).slice(2, 8)}`;
  const server = await connect({ servers: url, name: 'bench-raw-responder' });
  const client = await connect({ servers: url, name: 'bench-raw-requester', noAsyncTraces: opts.noAsyncTraces });
  server.subscribe(subject, {
    queue: subject,
    callback: (err, msg) => {
      if (err) return;
      const body = msg.json<unknown>();
      msg.respond(JSON.stringify(body));
    },
  });
  await server.flush();
  return {
    name: opts.name ?? 'raw nc.request()',
    invoke: async (payload) => (await client.request(subject, JSON.stringify(payload), { timeout: 10_000 })).json(),
    close: async () => {
      await client.close();
      await server.close();
    },
  };
}

/**
 * Raw publish/subscribe: one publisher and one subscriber connection, JSON both ways, flush every 1 000.
 * `envelope`: each event is the user payload wrapped in the fields an acp/1.0 event carries on the wire (a fresh
 * event id and time per event, as ours are), so the peer sends the same bytes ours does with none of our code: the
 * floor for any publisher of acp/1.0 events on this client.
 */
export async function rawNatsPubSubStack(url: string, opts: { envelope?: boolean } = {}): Promise<PubSubStack> {
  const subject = `bench.raw.events.${Math.random().toString(36).slice(2, 8)}`;
  const sub: NatsConnection = await connect({ servers: url, name: 'bench-raw-sub' });
  const pub: NatsConnection = await connect({ servers: url, name: 'bench-raw-pub' });
  let received = 0;
  let lastAt = 0;
  sub.subscribe(subject, {
    callback: (err, msg) => {
      if (err) return;
      msg.json();
      received++;
      lastAt = nowUs();
    },
  });
  await sub.flush();
  return {
    name: opts.envelope ? 'raw publish/subscribe, acp/1.0 event bytes' : 'raw publish/subscribe',
    run: async (count, capMs, payload) => {
      received = 0;
      const stopAt = Date.now() + capMs;
      const t0 = nowUs();
      let sent = 0;
      while (sent < count && Date.now() < stopAt) {
        pub.publish(subject, JSON.stringify(opts.envelope ? eventEnvelope(payload) : payload));
        sent++;
        if (sent % 1000 === 0) await pub.flush();
      }
      await pub.flush();
      while (received < sent && Date.now() < stopAt + 2000) await sleep(1);
      return { received, seconds: ((received < sent ? nowUs() : lastAt) - t0) / 1e6 };
    },
    close: async () => {
      await pub.close();
      await sub.close();
    },
  };
}
