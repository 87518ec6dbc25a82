import { BusError } from '../errors/bus-error.js';
import { ErrorCodes } from '../errors/error-codes.js';
import type { BusLogger } from '../runtime/bus-logger.js';
import type { JsClient, JsManager, Kv, KvStore } from './jetstream-lib.js';
import { kvStreamOf } from './jetstream-names.js';
import { isInsufficientResources, raiseReplicas } from './jetstream-replicas.js';

/** The bucket options openBucket() reads (JetStreamTaskStoreOptions, resolved). */
export interface BucketOptions {
  bucket: string;
  maxAgeMs: number;
  maxBytes: number;
}

/**
 * Opens (or creates) the bucket with `replicas`, fewer when the cluster cannot place them now (a warning says so;
 * the next start raises them). On a cluster, reads go to the stream's leader (no direct get): a lagging replica
 * would answer "no such task" for one just written.
 */
export async function openBucket(
  kvLib: Kv,
  js: JsClient,
  jsm: JsManager,
  o: BucketOptions,
  replicas: number,
  logger: BusLogger,
): Promise<KvStore> {
  const kvm = new kvLib.Kvm(js);
  const opts = {
    history: 1,
    ttl: o.maxAgeMs,
    ...(o.maxBytes > 0 ? { max_bytes: o.maxBytes } : {}),
    ...(replicas > 1 ? { allow_direct: false } : {}),
  };
  for (let r = replicas; ; r--) {
    try {
      const kv = await kvm.create(o.bucket, { ...opts, replicas: r });
      if (r < replicas) logger.warn(`tasks: bucket ${o.bucket} created with ${r} replica(s): the cluster cannot place ${replicas} now`);
      else await raiseReplicas(jsm, kvStreamOf(o.bucket), replicas, logger);
      return kv;
    } catch (err) {
      if (r <= 1 || !isInsufficientResources(err)) throw err;
    }
  }
}

/**
 * Creates or updates a stream (keeping replicas an operator raised, raising fewer), then reads its configuration
 * back: an older server ignores options it does not know.
 */
export async function ensureStream(
  jsm: JsManager,
  cfg: Record<string, unknown> & { name: string; retention: string; num_replicas: number },
  logger: BusLogger,
): Promise<void> {
  const wanted = cfg.num_replicas;
  let existing: number | undefined;
  try {
    existing = (await jsm.streams.info(cfg.name)).config.num_replicas ?? 1;
  } catch (err) {
    if (!/not found/i.test((err as Error).message)) throw err;
  }
  if (existing !== undefined) {
    await jsm.streams.update(cfg.name, { ...cfg, num_replicas: existing } as never);
    await raiseReplicas(jsm, cfg.name, wanted, logger);
  } else {
    for (let r = wanted; ; r--) {
      try {
        await jsm.streams.add({ ...cfg, num_replicas: r } as never);
        if (r < wanted) logger.warn(`tasks: stream ${cfg.name} created with ${r} replica(s): the cluster cannot place ${wanted} now`);
        break;
      } catch (err) {
        if (r <= 1 || !isInsufficientResources(err)) throw err;
      }
    }
  }
  const info = await jsm.streams.info(cfg.name);
  if (info.config.retention !== cfg.retention) {
    throw new BusError(
      ErrorCodes.TRANSPORT_FAILURE,
      `stream ${cfg.name} has retention ${info.config.retention}, tasks need ${cfg.retention}`,
      {
        retryable: false,
      },
    );
  }
}
