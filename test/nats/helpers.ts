import assert from 'node:assert/strict';
import {
  BusClient,
  BusError,
  type BusLogger,
  NatsTransport,
  type NatsTransportOptions,
  type Transport,
  type TransportStatus,
} from '@openagentio/nestjs';

/** A logger that keeps what it is told, for assertions (and keeps test output clean). */
export class RecordingLogger implements BusLogger {
  readonly lines: string[] = [];
  private waiters: Array<{ re: RegExp; resolve: (line: string) => void }> = [];
  log(m: string): void {
    this.push(m);
  }
  warn(m: string): void {
    this.push(m);
  }
  error(m: string): void {
    this.push(m);
  }
  debug(m: string): void {
    this.push(m);
  }
  /** Resolves with the first line (already logged or to come) matching `re`. */
  waitFor(re: RegExp): Promise<string> {
    const hit = this.lines.find((l) => re.test(l));
    if (hit) return Promise.resolve(hit);
    return new Promise((resolve) => this.waiters.push({ re, resolve }));
  }
  private push(m: string): void {
    this.lines.push(m);
    this.waiters = this.waiters.filter((w) => {
      if (!w.re.test(m)) return true;
      w.resolve(m);
      return false;
    });
  }
}

export const quietLogger: BusLogger = { log() {}, warn() {}, error() {}, debug() {} };

/** Resolves (with the detail) the next time `transport` reports `status`. */
export function nextStatus(
  transport: Transport,
  status: TransportStatus,
  match?: (detail?: string) => boolean,
): Promise<string | undefined> {
  return new Promise((resolve) => {
    const off = transport.onStatus((s, detail) => {
      if (s === status && (!match || match(detail))) {
        off();
        resolve(detail);
      }
    });
  });
}

/** A promise with its resolve function. */
export { deferred } from '../support/bus-fixture.js';

/** Rejects when `p` takes longer than `ms`: a hang becomes a clear failure instead of the runner's timeout. */
export function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
    }),
  ]);
}

/** An assert.rejects check: a BusError with `code`, not retryable (configuration a retry does not mend), matching `re`. */
export function isFinalError(code: string, re: RegExp): (e: unknown) => true {
  return (e: unknown) => {
    assert.ok(e instanceof BusError, String(e));
    assert.equal(e.code, code);
    assert.equal(e.retryable, false);
    assert.match(e.message, re);
    return true;
  };
}

export const isAuthFailure = (re: RegExp) => isFinalError('AUTH_FAILURE', re);

/**
 * Buses on NATS connections made with shared options (quiet, a short connect timeout), closed together after the
 * tests; `refused(opts)` is a bare connect attempt for the ones that must fail.
 */
export class NatsClients {
  private readonly open: BusClient[] = [];
  constructor(private readonly defaults: NatsTransportOptions = {}) {}

  bus(agentId: string, opts: NatsTransportOptions, logger: BusLogger = quietLogger): BusClient {
    const c = new BusClient(new NatsTransport({ logger, timeout: 3000, ...this.defaults, ...opts }), { agentId, logger: quietLogger });
    this.open.push(c);
    return c;
  }

  refused(opts: NatsTransportOptions): Promise<void> {
    return new NatsTransport({ logger: quietLogger, timeout: 3000, ...this.defaults, ...opts }).connect();
  }

  async closeAll(): Promise<void> {
    await Promise.all(this.open.map((c) => c.close()));
  }
}
