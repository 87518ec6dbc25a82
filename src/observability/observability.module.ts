import { Module, type DynamicModule, type OnApplicationShutdown, type Provider } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import type { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { BridgeHealthService } from '@openagentio/nestjs-bridges';
import { BUS_HEALTH_SOURCES, BusHealthIndicator, type BusHealthSource } from '@openagentio/nestjs';
import { HealthController } from './health.controller.js';
import { MetricsController, PROMETHEUS_EXPORTER } from './metrics.controller.js';
import { currentTelemetry } from './telemetry.js';

export interface ObservabilityModuleOptions {
  /** The exporter `GET /metrics` serves; default: the one startTelemetry() made. */
  prometheus?: PrometheusExporter;
}

/**
 * The demo's `GET /metrics` and `GET /health`. Needs BusModule (for BusClient); includes bridge health when a
 * BridgeModule is loaded. On application shutdown it flushes and stops the telemetry startTelemetry() started.
 *
 * @example
 * @Module({ imports: [BusModule.forRoot({ agentId: 'demo' }), ObservabilityModule.forRoot()] })
 */
@Module({})
export class ObservabilityModule implements OnApplicationShutdown {
  async onApplicationShutdown(): Promise<void> {
    await currentTelemetry()?.shutdown();
  }

  static forRoot(options: ObservabilityModuleOptions = {}): DynamicModule {
    const providers: Provider[] = [
      BusHealthIndicator,
      {
        provide: BUS_HEALTH_SOURCES,
        inject: [ModuleRef],
        useFactory: (refs: ModuleRef): BusHealthSource[] => {
          let bridges: BridgeHealthService | undefined;
          try {
            bridges = refs.get(BridgeHealthService, { strict: false });
          } catch {
            bridges = undefined; // no BridgeModule in this application
          }
          return bridges ? [{ name: 'bridges', check: () => bridges.check() as unknown as { status: string } }] : [];
        },
      },
    ];
    if (options.prometheus) providers.push({ provide: PROMETHEUS_EXPORTER, useValue: options.prometheus });
    return {
      module: ObservabilityModule,
      controllers: [MetricsController, HealthController],
      providers,
      exports: [BusHealthIndicator],
    };
  }
}
