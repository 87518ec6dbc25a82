import assert from 'node:assert/strict';
import { BusClient, type BusClientOptions, type BusLogger } from '@openagentio/nestjs';
import type { TransportEnv, TransportFixture } from './transports.js';

/** A logger that records what the bus says, so tests can assert on warnings instead of printing them. */
export class RecordingLogger implements BusLogger {
  readonly lines: string[] = [];
  log(m: string): void {
    this.lines.push(`log ${m}`);
  }
  warn(m: string): void {
    this.lines.push(`warn ${m}`);
  }
  error(m: string): void {
    this.lines.push(`error ${m}`);
  }
  debug(m: string): void {
    this.lines.push(`debug ${m}`);
  }
}

/** Buses on one transport environment; `close()` closes them all and checks none saw an invalid envelope. */
export class BusCluster {
  readonly buses: BusClient[] = [];
  constructor(readonly env: TransportEnv) {}

  static async start(fixture: TransportFixture): Promise<BusCluster> {
    return new BusCluster(await fixture.setup());
  }

  async bus(agentId: string, options: Partial<BusClientOptions> = {}): Promise<BusClient> {
    const bus = new BusClient(this.env.newTransport(), { agentId, logger: new RecordingLogger(), ...options });
    await bus.connect();
    this.buses.push(bus);
    return bus;
  }

  /** Asserts that no bus received an envelope that failed the acp/1.0 schema. */
  assertAllValid(): void {
    for (const b of this.buses) {
      assert.equal(
        b.stats.invalidMessages,
        0,
        `${b.agentId} received invalid envelopes: ${(b.logger as RecordingLogger).lines.join('\n')}`,
      );
    }
  }

  async close(): Promise<void> {
    for (const b of this.buses.splice(0)) await b.close();
    await this.env.teardown();
  }
}

/** Resolves when `predicate` holds, polling on the event loop; rejects after `ms`. */
export async function until(predicate: () => boolean, ms = 5000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

/** A promise with its resolve function, for handing events between a handler and a test. */
export function deferred<T = void>(): { promise: Promise<T>; resolve: (v: T) => void; reject: (e: unknown) => void } {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}
