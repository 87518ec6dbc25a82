import { type BusClient, BusError, type BusLogger, ErrorCodes } from '@openagentio/nestjs';
import { backoffDelay } from '@openagentio/nestjs/internal/resilience/backoff.js';
import { stripUndefined } from '@openagentio/nestjs/internal/utils/strip-undefined.js';
import {
  PermanentBridgeError,
  type Bridge,
  type BridgeContext,
  type BridgeHealth,
  type BridgeHealthStatus,
} from '../interfaces/bridge.interface.js';
import type { SupervisionOptions } from '../interfaces/supervision-options.interface.js';

export type { SupervisionOptions } from '../interfaces/supervision-options.interface.js';

export const DEFAULT_SUPERVISION: Required<SupervisionOptions> = {
  initialDelayMs: 250,
  maxDelayMs: 30_000,
  factor: 2,
  jitter: 0.2,
  maxRestarts: 5,
  budgetWindowMs: 60_000,
  resetAfterMs: 30_000,
};

/** The delay before restart number `attempt` (1-based): exponential, spread by `jitter` on either side. */
export function restartDelay(attempt: number, o: Required<SupervisionOptions>, random: () => number = Math.random): number {
  const curve = { initial: o.initialDelayMs, factor: o.factor, max: o.maxDelayMs };
  return Math.max(0, backoffDelay(attempt - 1, curve, [1 - o.jitter, 1 + o.jitter], random));
}

/** A health snapshot of one supervised bridge. */
export interface SupervisedBridgeHealth extends BridgeHealth {
  name: string;
  type: string;
  since: string;
}

/**
 * Runs one bridge: starts it, restarts it with exponential backoff and jitter when its start fails or it
 * reports a failure, within a restart budget; a PermanentBridgeError is never retried. Tracks health.
 */
export class BridgeSupervisor {
  private state: BridgeHealthStatus = 'stopped';
  private lastError?: string;
  private restarts = 0;
  private consecutiveFailures = 0;
  private readonly restartTimes: number[] = [];
  private timer?: NodeJS.Timeout;
  private running = false;
  private stopping = false;
  private generation = 0;
  private startedAt = 0;
  private since = new Date().toISOString();
  private readonly opts: Required<SupervisionOptions>;
  private startPromise?: Promise<void>;
  /** Targets the bridge registered when it last ran; while it is down they answer AGENT_UNAVAILABLE. */
  private readonly targets = new Set<string>();
  private placeholders: Array<{ unsubscribe(): void }> = [];
  private readonly trackingBus: BusClient;

  constructor(
    readonly bridge: Bridge,
    private readonly bus: BusClient,
    private readonly logger: BusLogger,
    options: SupervisionOptions = {},
    private readonly onChange?: (s: BridgeSupervisor) => void,
  ) {
    this.opts = { ...DEFAULT_SUPERVISION, ...stripUndefined(options) };
    this.trackingBus = trackRegistrations(bus, this.targets);
  }

  get name(): string {
    return this.bridge.name;
  }

  get status(): BridgeHealthStatus {
    return this.state;
  }

  health(): SupervisedBridgeHealth {
    const h: SupervisedBridgeHealth = {
      name: this.bridge.name,
      type: this.bridge.type,
      status: this.state,
      restarts: this.restarts,
      since: this.since,
    };
    if (this.lastError) h.lastError = this.lastError;
    let details: Record<string, unknown> | undefined;
    try {
      details = this.bridge.describe?.();
    } catch (err) {
      details = { describeError: (err as Error).message };
    }
    if (details && Object.keys(details).length > 0) h.details = details;
    return h;
  }

  /** First start. Resolves when the first attempt has finished (successfully or not); failures are supervised. */
  start(): Promise<void> {
    this.stopping = false;
    this.setState('starting');
    this.startPromise = this.attempt();
    return this.startPromise;
  }

  /** Stops the bridge and cancels a pending restart. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.generation++;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.releasePlaceholders();
    await this.startPromise?.catch(() => undefined);
    if (this.running) {
      this.running = false;
      try {
        await this.bridge.stop();
      } catch (err) {
        this.logger.warn(`bridge "${this.name}" failed to stop cleanly: ${(err as Error).message}`);
      }
    }
    this.setState('stopped');
  }

  private async attempt(): Promise<void> {
    const gen = this.generation;
    this.releasePlaceholders();
    const ctx: BridgeContext = {
      bus: this.trackingBus,
      logger: this.logger,
      reportFailure: (error: Error) => this.onFailure(gen, error),
      reportHealth: (status, error) => this.onHealth(gen, status, error),
    };
    try {
      await this.bridge.start(ctx);
    } catch (err) {
      if (gen !== this.generation || this.stopping) return;
      // A failed start may have registered part of its handlers: release them before trying again.
      try {
        await this.bridge.stop();
      } catch {
        // best effort
      }
      this.handleFailure(err as Error, 'start failed');
      this.holdTargets();
      return;
    }
    if (gen !== this.generation || this.stopping) {
      // stopped while starting
      try {
        await this.bridge.stop();
      } catch {
        // best effort
      }
      return;
    }
    this.running = true;
    this.startedAt = Date.now();
    this.setState('healthy');
    this.logger.log(`bridge "${this.name}" (${this.bridge.type}) started`);
  }

  private onHealth(gen: number, status: 'degraded' | 'healthy', error?: Error): void {
    if (gen !== this.generation || this.stopping || !this.running) return;
    if (status === 'degraded') {
      this.lastError = error?.message ?? this.lastError;
      if (this.state !== 'degraded') this.logger.warn(`bridge "${this.name}" degraded: ${this.lastError ?? 'peer unreachable'}`);
    } else if (this.state === 'degraded') {
      this.logger.log(`bridge "${this.name}" healthy again`);
    }
    this.setState(status);
  }

  private onFailure(gen: number, error: Error): void {
    if (gen !== this.generation || this.stopping || !this.running) return;
    this.generation++;
    this.running = false;
    const failedGen = this.generation;
    void Promise.resolve()
      .then(() => this.bridge.stop())
      .catch((err) => this.logger.warn(`bridge "${this.name}" failed to stop after a failure: ${(err as Error).message}`))
      .then(() => {
        if (failedGen === this.generation && !this.stopping) {
          this.handleFailure(error, 'failed');
          this.holdTargets();
        }
      });
  }

  private handleFailure(error: Error, what: string): void {
    this.lastError = error?.message ?? String(error);
    if (error instanceof PermanentBridgeError || (error as Error)?.name === 'PermanentBridgeError') {
      this.logger.error(`bridge "${this.name}" ${what} permanently: ${this.lastError}`);
      this.setState('unhealthy');
      return;
    }
    const now = Date.now();
    if (this.startedAt && now - this.startedAt >= this.opts.resetAfterMs) this.consecutiveFailures = 0;
    this.startedAt = 0;
    while (this.restartTimes.length > 0 && now - this.restartTimes[0] > this.opts.budgetWindowMs) this.restartTimes.shift();
    if (this.restartTimes.length >= this.opts.maxRestarts) {
      this.logger.error(
        `bridge "${this.name}" ${what}: ${this.lastError}; restart budget (${this.opts.maxRestarts} in ${this.opts.budgetWindowMs} ms) exhausted`,
      );
      this.setState('unhealthy');
      return;
    }
    this.consecutiveFailures++;
    const delay = restartDelay(this.consecutiveFailures, this.opts);
    this.logger.warn(`bridge "${this.name}" ${what}: ${this.lastError}; restarting in ${delay} ms`);
    this.setState('degraded');
    const gen = ++this.generation;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (gen !== this.generation || this.stopping) return;
      this.restarts++;
      this.restartTimes.push(Date.now());
      this.startPromise = this.attempt();
    }, delay);
    this.timer.unref?.();
  }

  /**
   * While the bridge is down, the targets it served answer at once with AGENT_UNAVAILABLE — retryable during a
   * restart, final once supervision has given up — instead of NO_HANDLER. Targets the bridge still holds itself
   * (some bridges keep answering through a restart) are left to it.
   */
  private holdTargets(): void {
    if (this.stopping || this.placeholders.length > 0) return;
    const registered = new Set(this.bus.targets);
    for (const target of this.targets) {
      if (registered.has(target)) continue;
      try {
        this.placeholders.push(
          this.bus.handleStream(target, () => {
            const restarting = this.state !== 'unhealthy';
            throw new BusError(
              ErrorCodes.AGENT_UNAVAILABLE,
              restarting
                ? `bridge "${this.name}" is restarting: ${this.lastError ?? 'peer failed'}`
                : `bridge "${this.name}" is unhealthy: ${this.lastError ?? 'peer failed'}`,
              { retryable: restarting, cause: { bridge: this.name, status: this.state } },
            );
          }),
        );
      } catch (err) {
        this.logger.debug?.(`bridge "${this.name}": no placeholder for ${target}: ${(err as Error).message}`);
      }
    }
  }

  private releasePlaceholders(): void {
    for (const p of this.placeholders.splice(0)) p.unsubscribe();
  }

  private setState(s: BridgeHealthStatus): void {
    if (this.state === s) return;
    this.state = s;
    this.since = new Date().toISOString();
    this.onChange?.(this);
  }
}

/** The bus as a bridge sees it: the same client, but the targets it registers are remembered. */
function trackRegistrations(bus: BusClient, targets: Set<string>): BusClient {
  return new Proxy(bus, {
    get(target, prop) {
      if (prop === 'handleInvoke' || prop === 'handleStream') {
        return (name: string, ...rest: unknown[]) => {
          const reg = (target[prop] as (...a: unknown[]) => { unsubscribe(): void }).call(target, name, ...rest);
          targets.add(name);
          return reg;
        };
      }
      const value = Reflect.get(target, prop, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}
