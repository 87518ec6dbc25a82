import { Module, type DynamicModule } from '@nestjs/common';
import { GatewayRoutesFilter } from '../gateway-routes.filter.js';
import { ConsoleAuthGuard } from './console-auth.guard.js';
import { ConsoleCollector } from './console-collector.service.js';
import { consoleControllers } from './console.controller.js';
import { CONSOLE_OPTIONS, resolveConsoleOptions, type ConsoleModuleOptions } from './console.options.js';

/**
 * The operator's console (docs/console.md): a page at `/<path>/` showing the agents discovery finds, the calls
 * between them, each target's traffic, and the task board, live over SSE. Opt-in; its API sits behind
 * GatewayModule's authentication, so the application imports GatewayModule too.
 *
 * @example
 * imports: [GatewayModule.forRoot({ … }), ConsoleModule.forRoot({ path: 'console' })]
 */
@Module({})
export class ConsoleModule {
  static forRoot(options: ConsoleModuleOptions = {}): DynamicModule {
    const resolved = resolveConsoleOptions(options);
    return {
      module: ConsoleModule,
      controllers: consoleControllers(resolved.path),
      providers: [{ provide: CONSOLE_OPTIONS, useValue: resolved }, ConsoleCollector, ConsoleAuthGuard, GatewayRoutesFilter],
      exports: [ConsoleCollector],
    };
  }
}
