import { Injectable } from '@nestjs/common';
import type { BridgeHealthStatus } from './interfaces/bridge.interface.js';
import type { BridgeSupervisor, SupervisedBridgeHealth } from './supervision/bridge-supervisor.js';

/** Aggregate health of all bridges of a BridgeModule. */
export interface BridgesHealth {
  /** healthy: all healthy (or none); starting: some still starting; degraded: some restarting or stopped; unhealthy: some gave up. */
  status: BridgeHealthStatus;
  bridges: Record<string, SupervisedBridgeHealth>;
}

/**
 * Health of the bridges, for a health indicator (`@nestjs/terminus` or a plain controller):
 *
 * @example
 * const h = health.check();            // { status: 'healthy', bridges: { llm: { status, restarts, lastError? } } }
 * if (!health.isHealthy()) res.status(503);
 */
@Injectable()
export class BridgeHealthService {
  private supervisors: BridgeSupervisor[] = [];

  /** @internal */
  attach(supervisors: BridgeSupervisor[]): void {
    this.supervisors = supervisors;
  }

  /** Health of one bridge by name. */
  get(name: string): SupervisedBridgeHealth | undefined {
    return this.supervisors.find((s) => s.name === name)?.health();
  }

  check(): BridgesHealth {
    const bridges: Record<string, SupervisedBridgeHealth> = {};
    for (const s of this.supervisors) bridges[s.name] = s.health();
    return { status: aggregateStatus(Object.values(bridges).map((b) => b.status)), bridges };
  }

  isHealthy(): boolean {
    return this.check().status === 'healthy';
  }
}

export function aggregateStatus(statuses: BridgeHealthStatus[]): BridgeHealthStatus {
  if (statuses.length === 0) return 'healthy';
  if (statuses.includes('unhealthy')) return 'unhealthy';
  if (statuses.includes('degraded')) return 'degraded';
  if (statuses.includes('starting')) return 'starting';
  if (statuses.every((s) => s === 'stopped')) return 'stopped';
  if (statuses.includes('stopped')) return 'degraded';
  return 'healthy';
}
