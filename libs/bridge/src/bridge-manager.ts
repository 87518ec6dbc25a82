import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { BusClient, type BusLogger } from '@openagentio/nestjs';
import type { Bridge, BridgeDefinition, BridgeFactory } from './interfaces/bridge.interface.js';
import { BridgeHealthService } from './bridge-health.service.js';
import { registeredBridgeFactories } from './bridge-registry.js';
import { BRIDGE_CLASS_INSTANCES, BRIDGE_MODULE_OPTIONS, type BridgeModuleOptions } from './bridge.module-definition.js';
import { BridgeConfigError, loadBridgeConfig } from './config/bridge-config.js';
import { builtinBridgeFactories } from './builtin-factories.js';
import { BridgeSupervisor } from './supervision/bridge-supervisor.js';

function isBridge(x: unknown): x is Bridge {
  return !!x && typeof (x as Bridge).start === 'function' && typeof (x as Bridge).stop === 'function';
}

/**
 * Builds the configured bridges (start-up errors for bad documents), starts them once the bus is connected,
 * supervises them, and stops them in reverse order on shutdown.
 */
@Injectable()
export class BridgeManager implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('BridgeModule');
  readonly supervisors: BridgeSupervisor[];
  private started = false;

  constructor(
    @Inject(BRIDGE_MODULE_OPTIONS) private readonly options: BridgeModuleOptions,
    @Inject(BusClient) private readonly bus: BusClient,
    @Inject(BRIDGE_CLASS_INSTANCES) classInstances: Bridge[],
    @Inject(BridgeHealthService) health: BridgeHealthService,
  ) {
    const bridges = buildBridges(options, classInstances);
    this.supervisors = bridges.map(
      (b) =>
        // A bridge's own supervision block (upstream documents have one per bridge) refines the module's.
        new BridgeSupervisor(b, bus, bridgeLogger(b.name), { ...options.supervision, ...b.supervision }, (s) =>
          this.logger.debug?.(`bridge "${s.name}" is ${s.status}`),
        ),
    );
    health.attach(this.supervisors);
  }

  /** The bridges, in start order. */
  get bridges(): Bridge[] {
    return this.supervisors.map((s) => s.bridge);
  }

  async onApplicationBootstrap(): Promise<void> {
    if (this.started) return;
    this.started = true;
    if (!this.bus.isConnected) await this.bus.connect();
    for (const s of this.supervisors) {
      await s.start();
      if (this.options.failFast && s.status === 'unhealthy') {
        throw new Error(`bridge "${s.name}" failed to start: ${s.health().lastError}`);
      }
    }
  }

  async onModuleDestroy(): Promise<void> {
    await this.stopAll();
  }

  async stopAll(): Promise<void> {
    for (const s of [...this.supervisors].reverse()) await s.stop();
    this.started = false;
  }
}

function bridgeLogger(name: string): BusLogger {
  const l = new Logger(`Bridge:${name}`);
  return { log: (m) => l.log(m), warn: (m) => l.warn(m), error: (m, t) => l.error(m, t), debug: (m) => l.debug(m) };
}

/** Resolves every configured bridge; throws BridgeConfigError for unknown types and duplicate names. */
export function buildBridges(options: BridgeModuleOptions, classInstances: Bridge[] = []): Bridge[] {
  const factories = new Map<string, BridgeFactory>([
    ...Object.entries(builtinBridgeFactories()),
    ...registeredBridgeFactories(),
    ...Object.entries(options.factories ?? {}),
  ]);
  const out: Bridge[] = [];
  const names = new Map<string, string>();
  const add = (b: Bridge, where: string) => {
    if (!b.name || typeof b.name !== 'string') throw new BridgeConfigError(`${where}: bridge has no name`, where);
    const prev = names.get(b.name);
    if (prev) throw new BridgeConfigError(`${where}.name: duplicate bridge name "${b.name}" (also ${prev})`, `${where}.name`);
    names.set(b.name, where);
    out.push(b);
  };
  const build = (def: BridgeDefinition, where: string) => {
    const f = factories.get(def.type);
    if (!f) {
      throw new BridgeConfigError(
        `${where}.type: unknown bridge type "${def.type}" (known: ${[...factories.keys()].sort().join(', ') || 'none'}; register one with registerBridgeFactory or the factories option)`,
        `${where}.type`,
      );
    }
    const b = f(def);
    if (!isBridge(b)) throw new BridgeConfigError(`${where}: factory for "${def.type}" did not return a Bridge`, where);
    return b;
  };
  const sources = options.config === undefined ? [] : Array.isArray(options.config) ? options.config : [options.config];
  sources.forEach((src, i) => {
    const doc = loadBridgeConfig(src, options.env ?? process.env);
    doc.bridges.forEach((def, j) =>
      add(build(def, `config${sources.length > 1 ? `[${i}]` : ''}.bridges[${j}]`), `config.bridges[${j}] (${def.name})`),
    );
  });
  (options.bridges ?? []).forEach((b, i) => {
    if (isBridge(b)) add(b, `bridges[${i}]`);
    else {
      const def = b as BridgeDefinition;
      for (const k of ['name', 'type'] as const) {
        if (typeof def?.[k] !== 'string' || !def[k]) throw new BridgeConfigError(`bridges[${i}].${k} is required`, `bridges[${i}].${k}`);
      }
      add(build({ ...def, config: def.config ?? {} }, `bridges[${i}]`), `bridges[${i}]`);
    }
  });
  classInstances.forEach((b, i) => add(b, `bridgeClasses[${i}] (${b?.constructor?.name})`));
  return out;
}
