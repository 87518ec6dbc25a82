import { Inject, Logger, Module, type OnApplicationShutdown } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { BusClient } from '../bus/bus-client.js';
import { DiscoveryClient } from '../discovery/discovery-client.js';
import type { BusLogger } from '../runtime/bus-logger.js';
import { BusServer } from '../server/bus-server.js';
import { BUS_MODULE_OPTIONS, BusConfigurableModule } from './bus.module-definition.js';
import type { BusModuleOptions } from './bus-module-options.interface.js';
import { BusSession } from './bus-session.js';
import { createTransport } from './create-transport.js';

/**
 * The bus as a Nest dynamic module: a connected, injectable `BusClient`, the injectable `BusSession`, the
 * `BusServer` transport strategy that serves `@Invoke`/`@Stream`/`@Subscribe` handlers, and a `DiscoveryClient`.
 *
 * @example
 * @Module({ imports: [BusModule.forRoot({ agentId: 'router' })] })
 * export class AppModule {}
 *
 * @example
 * BusModule.forRootAsync({
 *   inject: [ConfigService],
 *   useFactory: (c: ConfigService) => ({ agentId: 'router', transport: { nats: { servers: c.get('NATS_URL') } } }),
 * })
 */
@Module({
  imports: [DiscoveryModule],
  providers: [
    {
      provide: BusClient,
      inject: [BUS_MODULE_OPTIONS],
      useFactory: async (options: BusModuleOptions): Promise<BusClient> => {
        const transport = await createTransport(options.transport, process.env, options.agentId);
        // Every BusClientOptions field passes through as given; only the logger has a Nest default.
        const { transport: _transport, ...clientOptions } = options;
        const client = new BusClient(transport, { ...clientOptions, logger: clientOptions.logger ?? nestBusLogger() });
        await client.connect();
        return client;
      },
    },
    BusSession,
    BusServer,
    { provide: DiscoveryClient, inject: [BusClient], useFactory: (bus: BusClient) => new DiscoveryClient(bus) },
  ],
  exports: [BusClient, BusSession, BusServer, DiscoveryClient],
})
export class BusModule extends BusConfigurableModule implements OnApplicationShutdown {
  constructor(@Inject(BusClient) private readonly bus: BusClient) {
    super();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.bus.close();
  }
}

function nestBusLogger(): BusLogger {
  const logger = new Logger('Bus');
  return { log: (m) => logger.log(m), warn: (m) => logger.warn(m), error: (m, t) => logger.error(m, t), debug: (m) => logger.debug(m) };
}
