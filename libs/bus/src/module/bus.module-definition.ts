import { ConfigurableModuleBuilder } from '@nestjs/common';
import type { BusModuleOptions } from './bus-module-options.interface.js';

export const {
  ConfigurableModuleClass: BusConfigurableModule,
  MODULE_OPTIONS_TOKEN: BUS_MODULE_OPTIONS,
  OPTIONS_TYPE: BUS_OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE: BUS_ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<BusModuleOptions>({ moduleName: 'Bus' })
  .setClassMethodName('forRoot')
  .setExtras({ isGlobal: true }, (definition, extras) => ({ ...definition, global: extras.isGlobal }))
  .build();
