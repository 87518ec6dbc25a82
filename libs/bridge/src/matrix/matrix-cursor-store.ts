import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { NatsTransport, type BusClient } from '@openagentio/nestjs';
import { loadPackage } from '@openagentio/nestjs/internal/utils/load-package.js';
import { PermanentBridgeError } from '../interfaces/bridge.interface.js';

/**
 * Where the bridge keeps its sync cursor (`next_batch`) between runs. It is saved only after the batch it follows
 * has been published, so a crash re-reads that batch (duplicates are then dropped by Matrix event id) rather than
 * skipping it.
 */
export interface MatrixCursorStore {
  readonly kind: string;
  load(): Promise<string | undefined>;
  save(cursor: string): Promise<void>;
  close?(): Promise<void>;
}

/** In this process only: survives a bridge restart by supervision, not a process restart. */
export class MemoryCursorStore implements MatrixCursorStore {
  readonly kind = 'memory';
  private static readonly cursors = new Map<string, string>();
  constructor(private readonly key: string) {}
  async load(): Promise<string | undefined> {
    return MemoryCursorStore.cursors.get(this.key);
  }
  async save(cursor: string): Promise<void> {
    MemoryCursorStore.cursors.set(this.key, cursor);
  }
}

/** A JSON file, replaced atomically (write, then rename), so a crash mid-write leaves the previous cursor. */
export class FileCursorStore implements MatrixCursorStore {
  readonly kind = 'file';
  constructor(private readonly path: string) {}

  async load(): Promise<string | undefined> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
    const parsed = JSON.parse(text) as { next_batch?: unknown };
    return typeof parsed.next_batch === 'string' ? parsed.next_batch : undefined;
  }

  async save(cursor: string): Promise<void> {
    await mkdir(dirname(this.path), { recursive: true });
    const tmp = `${this.path}.${process.pid}.tmp`;
    await writeFile(tmp, JSON.stringify({ next_batch: cursor, saved_at: new Date().toISOString() }));
    await rename(tmp, this.path);
  }
}

interface KvLike {
  get(key: string): Promise<{ string(): string; operation?: string } | null>;
  put(key: string, value: string): Promise<unknown>;
}

/**
 * A JetStream key/value bucket on the bus's own NATS connection (the bus must run on NATS with JetStream), so
 * replicas of the bridge on other machines resume from the same cursor.
 */
export class NatsKvCursorStore implements MatrixCursorStore {
  readonly kind = 'nats_kv';
  private kv?: KvLike;

  constructor(
    private readonly bus: BusClient,
    private readonly bucket: string,
    private readonly key: string,
  ) {}

  private async open(): Promise<KvLike> {
    if (this.kv) return this.kv;
    const transport = this.bus.transport;
    const nc = transport instanceof NatsTransport ? transport.connection : undefined;
    if (!nc) throw new PermanentBridgeError('cursor_store nats_kv needs the bus on a connected NATS transport');
    const kvModule = await loadPackage('@nats-io/kv', 'the Matrix bridge (cursor_store: nats_kv)', () => import('@nats-io/kv'));
    this.kv = (await new kvModule.Kvm(nc).create(this.bucket, { history: 1 })) as unknown as KvLike;
    return this.kv;
  }

  async load(): Promise<string | undefined> {
    const entry = await (await this.open()).get(this.key);
    if (!entry || (entry.operation && entry.operation !== 'PUT')) return undefined;
    const v = entry.string();
    return v || undefined;
  }

  async save(cursor: string): Promise<void> {
    await (await this.open()).put(this.key, cursor);
  }
}
