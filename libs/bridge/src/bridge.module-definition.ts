import { ConfigurableModuleBuilder, type Type } from '@nestjs/common';
import type { Bridge, BridgeDefinition, BridgeFactory } from './interfaces/bridge.interface.js';
import type { BridgeConfigSource } from './config/bridge-config.js';
import type { SupervisionOptions } from './supervision/bridge-supervisor.js';

export interface BridgeModuleOptions {
  /**
   * Upstream bridge configuration documents (`version: openagentio.bridge/v1`): a YAML/JSON file path, YAML/JSON
   * text, `{ path }`, `{ text }`, or a parsed object; or a list of them. `${VAR}` / `${VAR:-default}` resolve
   * from `env` (default `process.env`).
   */
  config?: BridgeConfigSource | BridgeConfigSource[];
  /** Bridges given directly: ready instances, or definitions (`{name, type, config}`) built by their factory. */
  bridges?: Array<Bridge | BridgeDefinition>;
  /** Factories by bridge type, over the process-wide ones (`registerBridgeFactory`) and the built-ins. */
  factories?: Record<string, BridgeFactory>;
  /** Restart policy (backoff, jitter, budget). */
  supervision?: SupervisionOptions;
  /** Environment for `${VAR}` references. Default `process.env`. */
  env?: NodeJS.ProcessEnv;
  /**
   * Fail application start-up when a bridge's first start throws PermanentBridgeError. Default false: the
   * bridge is reported unhealthy and the application runs on.
   */
  failFast?: boolean;
}

export interface BridgeModuleExtras {
  /** Custom bridges as Nest providers: classes implementing `Bridge`, created by Nest with their dependencies. */
  bridgeClasses?: Type<Bridge>[];
  /** Register the module globally (BridgeHealthService injectable everywhere). Default true. */
  isGlobal?: boolean;
}

export const BRIDGE_CLASS_INSTANCES = Symbol('BRIDGE_CLASS_INSTANCES');

export const {
  ConfigurableModuleClass: BridgeConfigurableModule,
  MODULE_OPTIONS_TOKEN: BRIDGE_MODULE_OPTIONS,
  OPTIONS_TYPE: BRIDGE_OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE: BRIDGE_ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<BridgeModuleOptions>({ moduleName: 'Bridge' })
  .setClassMethodName('forRoot')
  .setExtras<BridgeModuleExtras>({ bridgeClasses: [], isGlobal: true }, (definition, extras) => {
    const classes = extras.bridgeClasses ?? [];
    return {
      ...definition,
      global: extras.isGlobal ?? true,
      providers: [
        ...(definition.providers ?? []),
        ...classes,
        { provide: BRIDGE_CLASS_INSTANCES, useFactory: (...instances: Bridge[]) => instances, inject: classes },
      ],
    };
  })
  .build();
