import { Module } from '@nestjs/common';
import { BridgeHealthService } from './bridge-health.service.js';
import { BridgeManager } from './bridge-manager.js';
import { BridgeConfigurableModule } from './bridge.module-definition.js';

/**
 * Runs bridges next to the bus: `BridgeModule.forRoot({ config: 'bridges.yaml', bridgeClasses: [MyBridge] })`
 * or `forRootAsync({ useFactory: (cfg) => ({ config: cfg.get('BRIDGES') }), inject: [ConfigService] })`.
 * Needs an injectable, connected `BusClient` (BusModule.forRoot provides it globally).
 */
@Module({
  providers: [BridgeHealthService, BridgeManager],
  exports: [BridgeHealthService, BridgeManager],
})
export class BridgeModule extends BridgeConfigurableModule {}
