import { BusError } from '../errors/bus-error.js';
import { ErrorCodes } from '../errors/error-codes.js';
import { decodeEnvelope } from '../protocol/envelope-codec.js';
import { isTransient, retrying } from '../tasks/jetstream-retry.js';
import type { DurableConsumerHandle, DurableConsumerSpec, DurableDelivery } from './durable-log.js';

export type Js = typeof import('@nats-io/jetstream');
type JsMsg = import('@nats-io/jetstream').JsMsg;
export type JsClient = ReturnType<Js['jetstream']>;
export type JsManager = Awaited<ReturnType<Js['jetstreamManager']>>;

const NS = 1_000_000;
/**
 * One fetch's life (ms). The server keeps a pull request until it expires, even when the client that made it has
 * stopped or died, and holds events for it meanwhile: short, so a replica that leaves delays events by at most this.
 */
const PULL_EXPIRES_MS = 1_000;

export interface ConsumerHost {
  lib: Js;
  js: JsClient;
  jsm: JsManager;
  stream: string;
  retryWindowMs: number;
}

/** The server-side consumer configuration of a spec. */
function consumerConfig(lib: Js, spec: DurableConsumerSpec): Record<string, unknown> {
  const from = spec.deliverFrom;
  const start =
    from === 'new'
      ? { deliver_policy: lib.DeliverPolicy.New }
      : from === 'beginning'
        ? { deliver_policy: lib.DeliverPolicy.All }
        : from instanceof Date
          ? { deliver_policy: lib.DeliverPolicy.StartTime, opt_start_time: from.toISOString() }
          : { deliver_policy: lib.DeliverPolicy.StartSequence, opt_start_seq: from.seq };
  return {
    durable_name: spec.name,
    ack_policy: lib.AckPolicy.Explicit,
    filter_subject: spec.filter,
    ack_wait: spec.ackWaitMs * NS,
    max_deliver: -1,
    ...start,
  };
}

/** A durable pull consumer (made, or found and brought to the spec's filter and ack wait), at most `concurrency` runs in flight. */
export async function consumeDurable(
  host: ConsumerHost,
  spec: DurableConsumerSpec,
  run: (d: DurableDelivery) => Promise<void>,
  onError: (err: Error) => void,
): Promise<DurableConsumerHandle> {
  const config = consumerConfig(host.lib, spec);
  await retrying(`starting durable consumer ${spec.name}`, host.retryWindowMs, async () => {
    const info = await host.jsm.consumers.info(host.stream, spec.name).catch((err: Error) => {
      if (isTransient(err)) throw err;
      return undefined;
    });
    if (!info) {
      try {
        await host.jsm.consumers.add(host.stream, config);
      } catch (err) {
        if (isTransient(err)) throw err;
        throw new BusError(
          ErrorCodes.INVALID_REQUEST,
          `durable consumer ${spec.name} on ${spec.filter} could not be made on stream ${host.stream} (${(err as Error).message})`,
        );
      }
      return;
    }
    if (info.config.filter_subject !== spec.filter || info.config.ack_wait !== spec.ackWaitMs * NS) {
      try {
        await host.jsm.consumers.update(host.stream, spec.name, { filter_subject: spec.filter, ack_wait: spec.ackWaitMs * NS });
      } catch (err) {
        if (isTransient(err)) throw err;
        throw new BusError(
          ErrorCodes.INVALID_REQUEST,
          `durable consumer ${spec.name} exists on ${info.config.filter_subject} and could not be moved to ${spec.filter} (${(err as Error).message}): use another durable name`,
        );
      }
    }
  });
  const consumer = await retrying(`starting durable consumer ${spec.name}`, host.retryWindowMs, () =>
    host.js.consumers.get(host.stream, spec.name),
  );
  let active = 0;
  let stopped = false;
  let room: (() => void) | undefined;
  let batch: { stop(): void } | undefined;
  const start = (m: JsMsg) => {
    let env;
    try {
      env = decodeEnvelope(m.data);
    } catch {
      // Not an envelope: nothing can handle it, and it must not come back.
      m.term();
      return;
    }
    active++;
    const delivery: DurableDelivery = {
      subject: m.subject,
      envelope: env,
      seq: m.seq,
      deliveryCount: m.info.deliveryCount,
      ack: async () => m.ack(),
      nak: (ms) => m.nak(ms),
      term: () => m.term(),
      working: () => m.working(),
    };
    void run(delivery)
      .catch(() => undefined)
      .finally(() => {
        active--;
        room?.();
      });
  };
  // Pulls only as many events as there are free slots (a fetch), never more: an event received is started at once
  // and kept alive while it runs, so none waits in a buffer while its ack wait runs out and another replica takes it.
  const loop = (async () => {
    let delay = 100;
    while (!stopped) {
      while (active >= spec.concurrency && !stopped) await new Promise<void>((r) => (room = r));
      if (stopped) break;
      try {
        const messages = await consumer.fetch({ max_messages: spec.concurrency - active, expires: PULL_EXPIRES_MS });
        batch = messages;
        for await (const m of messages) start(m);
        delay = 100;
      } catch (err) {
        if (stopped) break;
        // A lost server, an election, a consumer still being recovered: pull again shortly.
        onError(err as Error);
        await new Promise((r) => setTimeout(r, delay));
        delay = Math.min(delay * 2, 2_000);
      }
    }
  })();
  return {
    stop: async () => {
      stopped = true;
      batch?.stop();
      room?.();
      await loop.catch(() => undefined);
    },
  };
}
