import { ConfigurableModuleBuilder } from '@nestjs/common';
import type { GatewayModuleExtras, GatewayModuleOptions } from './gateway.options.js';

export const GATEWAY_EXTRAS = Symbol('GATEWAY_EXTRAS');

export const {
  ConfigurableModuleClass: GatewayConfigurableModule,
  MODULE_OPTIONS_TOKEN: GATEWAY_MODULE_OPTIONS,
  OPTIONS_TYPE: GATEWAY_OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE: GATEWAY_ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<GatewayModuleOptions>({ moduleName: 'Gateway' })
  .setClassMethodName('forRoot')
  .setExtras<GatewayModuleExtras>({ isGlobal: false, handleParserErrors: true }, (definition, extras) => ({
    ...definition,
    global: extras.isGlobal ?? false,
    providers: [...(definition.providers ?? []), { provide: GATEWAY_EXTRAS, useValue: extras }],
  }))
  .build();
