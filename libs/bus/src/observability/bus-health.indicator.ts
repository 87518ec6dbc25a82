import { Inject, Injectable, Optional } from '@nestjs/common';
import { BusClient } from '../bus/bus-client.js';

/**
 * The shape `@nestjs/terminus` expects from a health indicator (`HealthIndicatorResult`), declared here so the
 * bus does not depend on terminus: `{ [key]: { status: 'up' | 'down', ...details } }`.
 */
export type HealthIndicatorStatus = 'up' | 'down';
export type HealthIndicatorResult<Key extends string = string> = Record<Key, { status: HealthIndicatorStatus; [detail: string]: unknown }>;

/**
 * Something else whose health belongs in the bus check, e.g. the bridges of a BridgeModule. `check()` returns a
 * status (`up`/`healthy`/`starting`/`degraded` count as up; `down`/`unhealthy`/`stopped` as down) and any details.
 *
 * @example
 * // Bridge health in the bus check (BridgeHealthService is in libs/bridge):
 * { provide: BUS_HEALTH_SOURCES, inject: [BridgeHealthService], useFactory: (b: BridgeHealthService) => [{ name: 'bridges', check: () => b.check() }] }
 */
export interface BusHealthSource {
  readonly name: string;
  check(): { status: string; [detail: string]: unknown };
}

/** Optional provider token: an array of BusHealthSource included in every BusHealthIndicator check. */
export const BUS_HEALTH_SOURCES = Symbol('BUS_HEALTH_SOURCES');

const UP_STATUSES = new Set(['up', 'healthy', 'starting', 'degraded', 'ok']);

/**
 * Health of the bus for readiness/liveness probes, in the `@nestjs/terminus` result shape (no terminus needed):
 * up while the BusClient is connected and its transport is `connected`; down once it is closed, disconnected or
 * reconnecting, or when an included source (BUS_HEALTH_SOURCES) is down.
 *
 * @example
 * // with @nestjs/terminus (v10.1+/v11): the result is returned as is; status 'down' fails the check (503)
 * @Get('health') @HealthCheck()
 * check() { return this.health.check([() => this.bus.isHealthy('bus')]); }
 */
@Injectable()
export class BusHealthIndicator {
  private readonly sources: BusHealthSource[];

  constructor(
    @Inject(BusClient) private readonly bus: BusClient,
    @Optional() @Inject(BUS_HEALTH_SOURCES) sources?: BusHealthSource[] | null,
  ) {
    this.sources = sources ? [...sources] : [];
  }

  /** Includes another source in later checks (for code that is not wired through BUS_HEALTH_SOURCES). */
  addSource(source: BusHealthSource): void {
    this.sources.push(source);
  }

  /** The current health under `key` (default `bus`). Never throws. */
  check<Key extends string = 'bus'>(key: Key = 'bus' as Key): HealthIndicatorResult<Key> {
    const transportStatus = this.bus.transport.status;
    const connected = this.bus.isConnected && transportStatus === 'connected';
    const details: { status: HealthIndicatorStatus; [detail: string]: unknown } = {
      status: connected ? 'up' : 'down',
      agent: this.bus.agentId,
      transport: this.bus.transport.kind,
      transportStatus,
      connected,
      targets: this.bus.targets.length,
    };
    for (const source of this.sources) {
      let status: string;
      let extra: Record<string, unknown>;
      try {
        ({ status, ...extra } = source.check());
      } catch (err) {
        status = 'down';
        extra = { error: (err as Error)?.message ?? String(err) };
      }
      const up = UP_STATUSES.has(status);
      details[source.name] = { status, ...extra };
      if (!up) details.status = 'down';
    }
    return { [key]: details } as HealthIndicatorResult<Key>;
  }

  /** `check`, async, for `HealthCheckService.check([() => indicator.isHealthy('bus')])`. */
  async isHealthy<Key extends string = 'bus'>(key: Key = 'bus' as Key): Promise<HealthIndicatorResult<Key>> {
    return this.check(key);
  }

  /** Whether the last check would be up. */
  isUp(): boolean {
    return this.check().bus.status === 'up';
  }
}
