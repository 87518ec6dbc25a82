import type { NatsConnection } from '@nats-io/transport-node';
import type { BusLogger } from '../runtime/bus-logger.js';

/** Replicas tasks ask for on a cluster of at least this many servers (a majority survives one lost node). */
export const CLUSTER_REPLICAS = 3;

/** The JetStream manager calls this file needs (a subset of @nats-io/jetstream's). */
interface StreamsApi {
  streams: {
    info(name: string): Promise<{ config: { num_replicas?: number } & Record<string, unknown>; cluster?: { replicas?: unknown[] } }>;
    update(name: string, cfg: Record<string, unknown>): Promise<unknown>;
  };
}

/**
 * The replicas a deployment can hold when the options name none: 3 when the server says it is one of a cluster of
 * 3 or more (its INFO names a cluster and lists the client URLs of its members), else 1. A single server, or one
 * that does not advertise its peers (`no_advertise`), keeps R1 unless `replicas` is set.
 */
export function defaultReplicas(nc: NatsConnection): number {
  const info = nc.info as { cluster?: string; connect_urls?: string[] } | undefined;
  if (!info?.cluster) return 1;
  const members = new Set(info.connect_urls ?? []).size;
  return members >= CLUSTER_REPLICAS ? CLUSTER_REPLICAS : 1;
}

/** Whether JetStream refused a stream for want of servers to place its replicas on. */
export function isInsufficientResources(err: unknown): boolean {
  const e = err as { message?: string; api_error?: { err_code?: number } } | undefined;
  return /insufficient resources|no suitable peers|replicas > 1 not supported/i.test(e?.message ?? '') || e?.api_error?.err_code === 10023;
}

/**
 * Brings an existing stream (a task stream, or the KV bucket's `KV_<bucket>`) up to `wanted` replicas: found with
 * fewer, it is updated (JetStream copies the data to the new peers); a refusal, or a stream that still has fewer
 * afterwards, is a warning naming the risk. Never lowers a stream an operator raised.
 */
export async function raiseReplicas(jsm: StreamsApi, name: string, wanted: number, logger: BusLogger): Promise<number> {
  const info = await jsm.streams.info(name);
  const has = info.config.num_replicas ?? 1;
  if (has >= wanted) return has;
  try {
    await jsm.streams.update(name, { ...info.config, num_replicas: wanted });
  } catch (err) {
    logger.warn(
      `tasks: stream ${name} has ${has} replica(s), below the ${wanted} configured, and could not be raised (${(err as Error).message}): ` +
        `losing the server${has === 1 ? '' : 's'} holding it loses the tasks in it`,
    );
    return has;
  }
  const after = (await jsm.streams.info(name)).config.num_replicas ?? 1;
  if (after < wanted) {
    logger.warn(`tasks: stream ${name} kept ${after} replica(s) although ${wanted} were asked for`);
  } else {
    logger.log(`tasks: stream ${name} raised from ${has} to ${after} replicas`);
  }
  return after;
}
